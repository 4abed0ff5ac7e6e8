"""The view a command analyses a recording as: the one given with ``--view``, else the one the
view classifier recognises; and the sentence that says so. Not a command: ``lvwall.cli``
skips modules whose names start with an underscore."""

from __future__ import annotations

from lvwall.infer import SegmentedRecording
from lvwall.quality import ViewCall


def choose_view(recording: SegmentedRecording, given: str | None) -> tuple[ViewCall, str | None]:
    """The view to analyse ``recording`` as, and a warning when the classifier recognises
    the other view than the one given (the recording is still analysed as given)."""
    recognised = recording.recognise_view()
    if given is None:
        return recognised, None
    call = ViewCall.given(given)
    if recognised.recognised and recognised.view != call.view:
        return call, (
            f"{recording.name}: the view classifier recognises {recognised.describe()}, not "
            f"the {call.view} given; analysed as {call.view}"
        )
    return call, None
