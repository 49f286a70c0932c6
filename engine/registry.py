"""A tiny name → object registry, so datasets, model families and modes live in one place each."""

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries that register themselves with a decorator.

    Parameters
    ----------
    kind : str
        What the entries are ("dataset", "model family"), used in error messages.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return decorate

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            allowed = ", ".join(self._entries)
            raise KeyError(f"unknown {self.kind} {name!r}; allowed: {allowed}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._entries
