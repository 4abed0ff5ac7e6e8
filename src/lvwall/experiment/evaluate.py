"""Score a trained model on labelled recordings with every metric of :mod:`lvwall.metrics`.

Predictions are ``sigmoid(logits) > threshold``. Per recording, each metric is the mean over
its frames (and the overlap metrics also from its pooled pixel counts); over the dataset,
*macro* is the mean of the per-recording means and *micro* comes from the pixel counts pooled
over every frame, as in :func:`lvwall.metrics.dataset_metrics`. Degerli et al. (IEEE Access
2021) report the overlap metrics of the HMC-QU study this way; HD95 and ASSD are in pixels,
and also in mm (``hd95_mm``, ``assd_mm``) when every recording has ``pixel_spacing_mm``.

Every frame is also quality-checked as ``lvwall predict`` checks it
(:class:`lvwall.quality.QualityControl`), and the agreement of its ``quality`` score with the
frame's true Dice is reported: mean absolute error, Spearman correlation and the AUROC of the
score for detecting frames with Dice below 0.75 (:func:`lvwall.quality.quality_agreement`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from rich.progress import track

from lvwall.atomic import atomic_path, to_plain, write_json
from lvwall.data import LabelledRecording
from lvwall.metrics import DatasetMetrics, RecordingMetrics, dataset_metrics, recording_metrics
from lvwall.model import DEFAULT_THRESHOLD, UNet
from lvwall.quality import check_recording, quality_agreement

CSV_FILE = "metrics.csv"
JSON_FILE = "metrics.json"
#: Per frame: recording, frame, Dice, quality score and flags.
QUALITY_CSV_FILE = "quality.csv"


@dataclass(frozen=True)
class EvaluationResult:
    """Metrics of one model on a set of recordings at one threshold.

    ``metrics.recordings`` has one row per recording (``n_frames``, per-frame means,
    ``pooled_<metric>``); ``metrics.macro`` and ``metrics.micro`` aggregate them.
    ``frame_quality`` has one row per frame (``recording``, ``frame``, ``dice``, ``quality``,
    ``flags``) and ``quality`` the score's agreement with Dice; both are ``None`` when quality
    was not checked.
    """

    threshold: float
    metrics: DatasetMetrics
    frame_quality: pd.DataFrame | None = None

    @property
    def quality(self) -> dict[str, float] | None:
        """:func:`lvwall.quality.quality_agreement` of the frames' scores and Dice."""
        if self.frame_quality is None:
            return None
        # A frame without wall in either mask has no Dice to estimate.
        table = self.frame_quality.dropna(subset=["dice"])
        return quality_agreement(table["quality"].to_numpy(), table["dice"].to_numpy())

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
                "quality_agreement": self.quality,
                "recordings": recordings,
            }
        )

    def save(self, out_dir: str | Path, **context: Any) -> tuple[Path, Path]:
        """Write ``metrics.csv`` (one row per recording), ``metrics.json`` (everything, plus
        ``context`` such as the checkpoint and data paths) and, with quality checked,
        ``quality.csv`` (one row per frame) into ``out_dir``, atomically."""
        out_dir = Path(out_dir)
        csv_path = out_dir / CSV_FILE
        with atomic_path(csv_path) as tmp:
            self.metrics.recordings.to_csv(tmp, index=True)
        if self.frame_quality is not None:
            with atomic_path(out_dir / QUALITY_CSV_FILE) as tmp:
                self.frame_quality.to_csv(tmp, index=False, float_format="%.4f")
        json_path = write_json(out_dir / JSON_FILE, {**context, **self.to_dict()})
        return csv_path, json_path


def predict_probabilities(
    model: UNet,
    frames: np.ndarray,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Wall probabilities, float32 ``(T, H, W)``, for grey frames float32 ``(T, H, W)``."""
    if frames.ndim != 3:
        raise ValueError(f"expected frames (T, H, W), got shape {frames.shape}")
    probabilities = []
    with torch.inference_mode():
        for start in range(0, len(frames), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(frames[start : start + batch_size]))
            output = model.predict_proba(batch[:, None].to(device, torch.float32))
            probabilities.append(output[:, 0].float().cpu().numpy())
    return np.concatenate(probabilities)


def predict_masks(
    model: UNet,
    frames: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Binary wall masks, bool ``(T, H, W)``, for grey frames float32 ``(T, H, W)``."""
    return predict_probabilities(model, frames, batch_size, device) > threshold


def evaluate_model(
    model: UNet,
    recordings: Sequence[LabelledRecording],
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    progress: bool = False,
    quality: bool = True,
) -> EvaluationResult:
    """Predict every frame of ``recordings`` with ``model`` and score it against the masks;
    with ``quality``, also quality-check every frame and set its score against its Dice.

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
    scored, checked = [], []
    for recording, spacing in track(
        list(zip(recordings, spacings, strict=True)),
        description="Evaluating",
        disable=not progress,
    ):
        probabilities = predict_probabilities(model, recording.frames, batch_size, device)
        predicted = probabilities > threshold
        metrics = recording_metrics(
            recording.name,
            predicted,
            recording.masks.astype(bool),
            tuple(spacing) if use_spacing else None,
        )
        scored.append(metrics)
        if quality:
            checked.append(_frame_quality(recording, probabilities, predicted, metrics))
    return EvaluationResult(
        threshold=threshold,
        metrics=dataset_metrics(scored),
        frame_quality=pd.concat(checked, ignore_index=True) if quality else None,
    )


def _frame_quality(
    recording: LabelledRecording,
    probabilities: np.ndarray,
    predicted: np.ndarray,
    metrics: RecordingMetrics,
) -> pd.DataFrame:
    """Each frame's Dice, quality score and flags, the frames checked in order as one
    recording (the ``jump`` check compares each with the frames before it)."""
    verdicts = check_recording(recording.frames, probabilities, predicted)
    return pd.DataFrame(
        {
            "recording": recording.name,
            "frame": np.arange(len(verdicts)),
            "dice": metrics.frames["dice"].to_numpy(),
            "quality": [verdict.quality for verdict in verdicts],
            "flags": [verdict.flag_text for verdict in verdicts],
        }
    )
