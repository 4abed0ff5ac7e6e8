"""Score a trained model on labelled recordings with every metric of :mod:`lvwall.metrics`.

Predictions are ``sigmoid(logits) > threshold``. Per recording, each metric is the mean over
its frames (and the overlap metrics also from its pooled pixel counts); over the dataset,
*macro* is the mean of the per-recording means and *micro* comes from the pixel counts pooled
over every frame, as in :func:`lvwall.metrics.dataset_metrics`. Degerli et al. (IEEE Access
2021) report the overlap metrics of the HMC-QU study this way; HD95 and ASSD are in pixels,
and also in mm (``hd95_mm``, ``assd_mm``) when every recording has ``pixel_spacing_mm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import track

from lvwall.atomic import atomic_path, to_plain, write_json
from lvwall.checkpoint import DEFAULT_THRESHOLD
from lvwall.data.records import LabelledRecording
from lvwall.metrics import DatasetMetrics, dataset_metrics, recording_metrics
from lvwall.model import UNet

CSV_FILE = "metrics.csv"
JSON_FILE = "metrics.json"


@dataclass(frozen=True)
class EvaluationResult:
    """Metrics of one model on a set of recordings at one threshold.

    ``metrics.recordings`` has one row per recording (``n_frames``, per-frame means,
    ``pooled_<metric>``); ``metrics.macro`` and ``metrics.micro`` aggregate them.
    """

    threshold: float
    metrics: DatasetMetrics

    @property
    def macro(self) -> dict[str, float]:
        return self.metrics.macro

    @property
    def micro(self) -> dict[str, float]:
        return self.metrics.micro

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; NaN (a distance with nothing to measure) becomes ``null``."""
        recordings = self.metrics.recordings.to_dict(orient="index")
        return to_plain(
            {
                "threshold": self.threshold,
                "n_recordings": len(recordings),
                "n_frames": int(self.metrics.recordings["n_frames"].sum()),
                "macro": self.macro,
                "micro": self.micro,
                "recordings": recordings,
            }
        )

    def save(self, out_dir: str | Path, **context: Any) -> tuple[Path, Path]:
        """Write ``metrics.csv`` (one row per recording) and ``metrics.json`` (everything,
        plus ``context`` such as the checkpoint and data paths) into ``out_dir``, atomically."""
        out_dir = Path(out_dir)
        csv_path = out_dir / CSV_FILE
        with atomic_path(csv_path) as tmp:
            self.metrics.recordings.to_csv(tmp, index=True)
        json_path = write_json(out_dir / JSON_FILE, {**context, **self.to_dict()})
        return csv_path, json_path


def predict_masks(
    model: UNet,
    frames: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Binary wall masks, bool ``(T, H, W)``, for grey frames float32 ``(T, H, W)``."""
    if frames.ndim != 3:
        raise ValueError(f"expected frames (T, H, W), got shape {frames.shape}")
    masks = []
    with torch.inference_mode():
        for start in range(0, len(frames), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(frames[start : start + batch_size]))
            probabilities = model.predict_proba(batch[:, None].to(device, torch.float32))
            masks.append((probabilities[:, 0] > threshold).cpu().numpy())
    return np.concatenate(masks)


def evaluate_model(
    model: UNet,
    recordings: Sequence[LabelledRecording],
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> EvaluationResult:
    """Predict every frame of ``recordings`` with ``model`` and score it against the masks.

    The model is put in eval mode on ``device``. Raises :class:`ValueError` for an empty
    ``recordings``, a ``threshold`` outside (0, 1) or a ``batch_size`` below 1.
    """
    if not recordings:
        raise ValueError("recordings is empty; nothing to evaluate")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    model = model.eval().to(device)
    spacings = [recording.meta.get("pixel_spacing_mm") for recording in recordings]
    use_spacing = all(spacing is not None for spacing in spacings)
    scored = []
    for recording, spacing in track(
        list(zip(recordings, spacings, strict=True)),
        description="Evaluating",
        disable=not progress,
    ):
        predicted = predict_masks(model, recording.frames, threshold, batch_size, device)
        scored.append(
            recording_metrics(
                recording.name,
                predicted,
                recording.masks.astype(bool),
                tuple(spacing) if use_spacing else None,
            )
        )
    return EvaluationResult(threshold=threshold, metrics=dataset_metrics(scored))
