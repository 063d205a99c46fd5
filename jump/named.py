"""A table of classes by name, filled by a decorator: how stages and model types register."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T", bound=type)


class NamedTypes(Generic[T]):
    """``@table.register("name")`` on a class; ``table.get("name")`` finds it."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._types: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def wrap(cls: T) -> T:
            self._types[name] = cls
            return cls

        return wrap

    def get(self, name: str) -> T:
        """The class registered as ``name``; KeyError names the known ones."""
        try:
            return self._types[name]
        except KeyError:
            known = ", ".join(sorted(self._types))
            raise KeyError(f"no {self.what} {name!r}; known: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def names(self) -> list[str]:
        return sorted(self._types)
