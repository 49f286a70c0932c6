"""DDX engine: experiment config, datasets, models, training and run files (no Qt here)."""

__version__ = "0.4.0"
