"""Shipped experiment presets (TOML files in this folder)."""
