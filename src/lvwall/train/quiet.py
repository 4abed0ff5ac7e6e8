"""Keep Lightning's own chatter out of lvwall's output.

Lightning prints device banners ("GPU available: ..."), advertisements ("Tip: ... litlogger"),
a model summary and performance hints on every trainer it builds; repeated over the many
short runs of an experiment they bury what lvwall says. The progress bar and lvwall's own
summary stay, and so do warnings not named here.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

#: Lightning's loggers, whose INFO messages are the banners, tips and summaries.
LIGHTNING_LOGGERS: tuple[str, ...] = ("lightning.pytorch", "lightning.fabric")
#: Warnings that say nothing to an lvwall user: the run folder holds config.yaml before the
#: first checkpoint; a CPU run has few data-loader workers on purpose (the model already uses
#: every core); Lightning 2.6 calls a PyTorch 2.13 pytree API that PyTorch has deprecated.
QUIET_WARNING_MESSAGES: tuple[str, ...] = (
    r".*Checkpoint directory .* exists and is not empty.*",
    r".*does not have many workers.*",
    r".*isinstance\(treespec, LeafSpec\).*",
)


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence Lightning's INFO messages and the warnings of :data:`QUIET_WARNING_MESSAGES`,
    its possible-user warnings and its deprecation notices, inside the block."""
    from lightning.fabric.utilities.warnings import PossibleUserWarning

    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PossibleUserWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="lightning")
            for message in QUIET_WARNING_MESSAGES:
                warnings.filterwarnings("ignore", message=message)
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
