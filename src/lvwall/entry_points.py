"""One console script per command (``lvwall-train``, ``lvwall-predict``, ...), as in nnU-Net v2.

Each is the same command as ``lvwall <name>``, with the same error handling; pyproject.toml
lists them under ``[project.scripts]``.
"""

from __future__ import annotations

from collections.abc import Callable

from lvwall.cli import run_single


def _script(module: str) -> Callable[[], None]:
    def main() -> None:
        run_single(module.replace("_", "-"))

    main.__name__ = module
    return main


benchmark = _script("benchmark")
demo = _script("demo")
evaluate = _script("evaluate")
experiment = _script("experiment")
explain = _script("explain")
export = _script("export")
measure = _script("measure")
phantom_figure = _script("phantom_figure")
predict = _script("predict")
regional = _script("regional")
regional_eval = _script("regional_eval")
serve = _script("serve")
simulate = _script("simulate")
soup = _script("soup")
train = _script("train")
