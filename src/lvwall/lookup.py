"""The one look-up of a variant by name in a registry (a dict of variants by name), and of a
dataclass's settings by name in a plain dict or a YAML file."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from lvwall.errors import DataError

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


def settings_from_yaml(build: Callable[[dict[str, Any]], T], path: str | Path, what: str) -> T:
    """``build`` (a ``from_dict``) applied to the YAML mapping in ``path``; an empty file is an
    empty mapping. A missing, unparsable or invalid file raises :class:`DataError` naming it
    and ``what`` it should hold (e.g. ``"training config"``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, f"the {what} file does not exist")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise DataError(path, f"the {what} is not valid YAML ({error})") from None
    if not isinstance(values, dict):
        raise DataError(path, f"the {what} must be a mapping of setting: value")
    try:
        return build(values)
    except (TypeError, ValueError) as error:
        raise DataError(path, f"bad {what}: {error}") from None
