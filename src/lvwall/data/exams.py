"""Naming conventions that group input files: ED/ES stills of one view, and the A4C and A2C
recordings of one exam.

Stills: two images whose names differ only by a final ``ED`` / ``ES`` token (``_``, ``-``,
``.`` or a space before it, any case) are the end-diastolic and end-systolic stills of one
view, as CAMUS names them (``patient0001_4CH_ED.png``, ``patient0001_4CH_ES.png``).

Exams: two inputs whose names hold a view token each, A4C and A2C, and the same text before
it, are the A4C and A2C recordings of one heart (the patient comes first in the names of
HMC-QU, CAMUS and most scanner exports; what follows the token, a recording number or a
date, may differ). A4C tokens: ``4CH``, ``CH4``, ``A4C``; A2C tokens: ``2CH``, ``CH2``,
``A2C`` (any case), standing alone between separators. The exam is named by that text,
separators trimmed (the text after the token when nothing comes before it):
``ES0001 _4CH_1`` and ``ES0001_CH2_1`` (HMC-QU) make the exam ``ES0001``;
``patient0001_4CH`` and ``patient0001_2CH`` (CAMUS stills) ``patient0001``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: The end-diastole and end-systole tokens, in that order.
PHASE_TOKENS: tuple[str, ...] = ("ED", "ES")
#: The name tokens that mark each apical view.
VIEW_TOKENS: dict[str, tuple[str, ...]] = {
    "A4C": ("4CH", "CH4", "A4C"),
    "A2C": ("2CH", "CH2", "A2C"),
}
_SEPARATORS = "_\\-. "
_PHASE = re.compile(rf"^(?P<stem>.*?)[{_SEPARATORS}]+(?P<phase>ED|ES)$", re.IGNORECASE)
_VIEW = {
    view: re.compile(
        rf"(?:^|(?<=[{_SEPARATORS}]))(?:{'|'.join(tokens)})(?=$|[{_SEPARATORS}])", re.IGNORECASE
    )
    for view, tokens in VIEW_TOKENS.items()
}


def still_phase(name: str) -> tuple[str, str] | None:
    """``(stem, "ED" or "ES")`` when ``name`` (a file stem) ends in a phase token."""
    match = _PHASE.match(name)
    return None if match is None else (match["stem"], match["phase"].upper())


def view_in_name(name: str) -> str | None:
    """The view whose token ``name`` holds, or ``None`` when it holds none or both."""
    found = [view for view, pattern in _VIEW.items() if pattern.search(name)]
    return found[0] if len(found) == 1 else None


def exam_name(name: str) -> str | None:
    """The text before ``name``'s view token (after it, when nothing comes before),
    separators trimmed; ``None`` without a token."""
    view = view_in_name(name)
    if view is None:
        return None
    match = _VIEW[view].search(name)
    before, after = name[: match.start()], name[match.end() :]
    return before.strip(_SEPARATORS) or after.strip(_SEPARATORS) or view


@dataclass(frozen=True)
class Pairing:
    """How names were grouped: ``pairs`` maps a group's name to its two members (ED, ES or
    A4C, A2C, in that order); ``alone`` holds the names that found no partner."""

    pairs: dict[str, tuple[str, str]]
    alone: tuple[str, ...]


def pair_stills(names: Sequence[str]) -> Pairing:
    """Group file stems into ED/ES still pairs by :func:`still_phase`."""
    return _pair(names, still_phase, PHASE_TOKENS)


def pair_exams(names: Sequence[str]) -> Pairing:
    """Group names into A4C/A2C exams by :func:`view_in_name` and :func:`exam_name`."""

    def key(name: str) -> tuple[str, str] | None:
        view, stem = view_in_name(name), exam_name(name)
        return None if view is None or stem is None else (stem, view)

    return _pair(names, key, tuple(VIEW_TOKENS))


def _pair(names: Sequence[str], key, order: tuple[str, ...]) -> Pairing:
    groups: dict[str, dict[str, list[str]]] = {}
    for name in names:
        found = key(name)
        if found is not None:
            stem, member = found
            groups.setdefault(stem, {}).setdefault(member, []).append(name)
    pairs = {
        stem: (members[order[0]][0], members[order[1]][0])
        for stem, members in groups.items()
        if all(len(members.get(token, [])) == 1 for token in order)
    }
    paired = {name for pair in pairs.values() for name in pair}
    return Pairing(pairs=pairs, alone=tuple(name for name in names if name not in paired))
