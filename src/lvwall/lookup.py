"""The one look-up of a variant by name in a registry (a dict of variants by name)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def look_up(registry: Mapping[str, T], name: str, what: str) -> T:
    """``registry[name]``; an unknown ``name`` raises :class:`ValueError` naming ``what``
    and listing the valid names (as MONAI's ``look_up_option`` does)."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown {what} {name!r}; choose one of {sorted(registry)}") from None
