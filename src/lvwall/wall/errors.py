"""The one error of regional analysis: a mask that holds no recognisable apical LV wall."""

from __future__ import annotations

from lvwall.errors import LvwallError


class RegionalError(LvwallError):
    """A wall mask (or a frame of a mask sequence) cannot be split into the six segments.

    Like :class:`lvwall.errors.DataError`, the message is one sentence, ``"<source>: <problem>"``,
    where ``source`` names the mask (a file, or a file and frame number).
    """

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")
