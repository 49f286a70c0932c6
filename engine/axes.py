"""A sweep's axes: the config keys it varies and their values, numbers or the names of a choice."""

from dataclasses import dataclass

SweptValue = float | str  # a number, or one choice of a categorical key


@dataclass(frozen=True)
class Axis:
    """One swept config key and the values it takes: numbers, or the choices of a categorical key."""

    key: str
    values: tuple[SweptValue, ...]

    @property
    def categorical(self) -> bool:
        return any(isinstance(v, str) for v in self.values)


def swept(value) -> SweptValue:
    """A swept value as stored: a choice stays a string, a number becomes a float."""
    return value if isinstance(value, str) else float(value)


def format_value(value) -> str:
    """A swept value for people: a choice as it is, a number in its shortest form."""
    return value if isinstance(value, str) else f"{value:g}"


def sweep_axes(sweep: dict) -> list[Axis]:
    """The swept axes of a `sweep` section (a dict, as stored in run files): first axis, then second."""
    pairs = ((sweep.get("axis"), sweep.get("values")), (sweep.get("axis2"), sweep.get("values2")))
    return [Axis(key, tuple(swept(v) for v in values or ())) for key, values in pairs if isinstance(key, str) and key]
