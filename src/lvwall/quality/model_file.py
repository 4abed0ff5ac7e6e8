"""Reading the small JSON models of quality control (the score, the view classifier), with
one policy for files that are missing or are not such a model."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from lvwall.errors import ModelError

Model = TypeVar("Model")


def read_json_model(
    path: str | Path, kind: str, from_json: Callable[[Mapping[str, Any]], Model]
) -> Model:
    """``from_json`` of the JSON file at ``path``; :class:`ModelError` naming the file if it
    does not exist, cannot be read or is not a ``kind`` lvwall wrote."""
    path = Path(path)
    try:
        return from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ModelError(path, f"the {kind} file does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(path, f"cannot be read as a {kind} ({error})") from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ModelError(path, f"is not a {kind} lvwall wrote ({error})") from None
