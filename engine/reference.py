"""The config reference (docs/config.md), generated from the config model so it never drifts."""

import typing

from engine.config import SECTIONS, ExperimentConfig

BOUNDS = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"))


def allowed(field) -> str:
    """Choices of a Literal field, or its numeric range."""
    choices = typing.get_args(field.annotation)
    if typing.get_origin(field.annotation) is typing.Literal:
        return ", ".join(f"`{c}`" for c in choices)
    parts = [f"{sign} {getattr(m, attr)}" for m in field.metadata for attr, sign in BOUNDS if hasattr(m, attr)]
    return " and ".join(parts)


def default_of(field) -> str:
    value = field.get_default(call_default_factory=True)
    return f"`{value!r}`".replace("'", '"')


def config_reference() -> str:
    lines = [
        "# Config reference",
        "",
        "Generated from `engine/config.py` by `python -m engine.reference > docs/config.md`.",
        "Presets are TOML files with these sections; `--set section.key=value` overrides any key.",
        "Teacher and student defaults differ only in `width` (teacher 256, student 32).",
        "",
    ]
    for section in SECTIONS:
        model = ExperimentConfig.model_fields[section].annotation
        lines += [f"## [{section}]", "", (model.__doc__ or "").strip(), "", "| key | default | allowed | meaning |"]
        lines.append("|---|---|---|---|")
        for name, field in model.model_fields.items():
            lines.append(f"| `{section}.{name}` | {default_of(field)} | {allowed(field)} | {field.description} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(config_reference())
