"""The one look-up of a variant by name in a registry (a dict of variants by name), and of a
dataclass's settings by name in a plain dict (a YAML or JSON file's)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def look_up(registry: Mapping[str, T], name: str, what: str) -> T:
    """``registry[name]``; an unknown ``name`` raises :class:`ValueError` naming ``what``
    and listing the valid names (as MONAI's ``look_up_option`` does)."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown {what} {name!r}; choose one of {sorted(registry)}") from None


def from_settings(cls: type[T], values: Mapping[str, Any], what: str) -> T:
    """The dataclass ``cls`` built from ``values``; a key that is none of its fields raises
    :class:`ValueError` naming ``what`` and listing the known keys; missing keys take their
    defaults."""
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; known: {sorted(known)}")
    return cls(**values)
