"""A figure to judge the phantom's realism by eye: phantom frames with their masks beside a
real HMC-QU frame and a real CAMUS frame with its LV-wall mask."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lvwall.atomic import atomic_path
from lvwall.data.phantom.recording import simulate_recording

CONTOUR_RGB = (255, 60, 40)
#: Phantom recordings drawn: (seed offset, phase) - two hearts at ED and ES, one more at ED.
_PHANTOM_PANELS = ((0, "ED"), (0, "ES"), (1, "ED"), (2, "ES"))


@dataclass(frozen=True)
class Panel:
    title: str
    image: np.ndarray


def _with_contour(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` (RGB) with the outline of ``mask`` (any size, stretched to the image)."""
    height, width = image.shape[:2]
    full = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(full, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    out = image.copy()
    cv2.drawContours(out, contours, -1, CONTOUR_RGB, max(1, height // 300))
    return out


def phantom_panels(seed: int) -> list[Panel]:
    """Phantom frames at end-diastole and end-systole with their LV-wall mask outlined."""
    panels = []
    recordings = {}
    for offset, phase in _PHANTOM_PANELS:
        if offset not in recordings:
            recordings[offset] = simulate_recording(seed + offset)
        recording = recordings[offset]
        cycle_index = 0
        if phase == "ES":
            cycle_index = int(np.argmax(recording.endo_displacement.mean(axis=1)))
        frame = recording.video[recording.record.reference_frame - 1 + cycle_index]
        mi = [name for name, flag in recording.record.segment_dict().items() if flag]
        label = f"MI {', '.join(mi)}" if mi else "non-MI"
        panels.append(
            Panel(
                f"phantom {recording.echo.split()[0]} {phase} ({label})",
                _with_contour(frame, recording.masks[cycle_index]),
            )
        )
    return panels


def hmcqu_panel(gif: Path) -> Panel:
    """The first frame of a real HMC-QU recording (its mask is not public)."""
    from lvwall.data.video import read_frames

    frame = read_frames(gif, 0, 1)[0]
    return Panel(f"real HMC-QU {gif.stem.split()[0]} (no public mask)", frame)


def camus_panel(root: Path, seed: int) -> Panel:
    """A real CAMUS A4C frame with its LV-wall mask outlined."""
    from lvwall.data import camus

    patients = camus.list_patients(root)
    files = patients[seed % len(patients)]
    recording = camus.load_patient(files, size=512)
    grey = np.clip(recording.frames[0] * 255 + 0.5, 0, 255).astype(np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    return Panel(
        f"real CAMUS {files.patient} {files.phases[0]} (wall mask)",
        _with_contour(rgb, recording.masks[0]),
    )


def save_figure(path: Path, panels: list[Panel], columns: int = 3) -> Path:
    """Lay ``panels`` out in a grid and save a compact PNG atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.1 * rows), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, panel in zip(axes.ravel(), panels, strict=False):
        axis.imshow(panel.image)
        axis.set_title(panel.title, fontsize=9)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=90, facecolor="white")
    plt.close(figure)
    return path


def comparison_figure(
    path: Path, *, hmcqu_gif: Path | None, camus_dir: Path | None, seed: int = 0
) -> list[str]:
    """Draw phantom panels and, where the files exist, the real references; save to ``path``.

    Returns one note per real reference that was missing and so left out.
    """
    panels = phantom_panels(seed)
    notes = []
    if hmcqu_gif is not None and hmcqu_gif.is_file():
        panels.append(hmcqu_panel(hmcqu_gif))
    else:
        notes.append(f"HMC-QU sample {hmcqu_gif} not found: drawn without it")
    if camus_dir is not None and camus_dir.is_dir():
        panels.append(camus_panel(camus_dir, seed))
    else:
        notes.append(f"CAMUS folder {camus_dir} not found: drawn without it")
    save_figure(path, panels)
    return notes
