"""Derive the quality checks' thresholds from ground truth, and measure their false flags.

Prints the distribution of every measurement on the reference ground-truth walls (CAMUS dev,
label 2; phantom cycles of seed 21) and reference echo frames (CAMUS dev images, the HMC-QU
sample recording, phantom videos), derives each threshold by its rule (see
:mod:`lvwall.quality.thresholds`), compares it with the constant in that module, and reports
how often each check flags: ground-truth walls (the reference ones and phantom cycles of seed
22 that set nothing), echo frames, non-echo images (which should all be ``not_echo``), and
the bundled model's predictions on the HMC-QU recording. Exit status 1 when a constant
differs from its derivation.

    python benchmarks/quality_thresholds.py --camus ../shared/data/camus-a4c-dev \\
        --hmcqu ../shared/data/hmcqu-sample
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from lvwall.data import SECTOR_FRAMES, find_sector, iter_frames, prepare_frame
from lvwall.infer import PredictOptions, load_segmentation_model, segment_frames
from lvwall.quality import (
    FLAGS,
    JumpChecker,
    QualityControl,
    echo_checks,
    fan_shape,
    jump_checks,
    measure_wall,
    sector_content,
    shape_checks,
    thresholds,
)
from quality_data import PHANTOM_CHECK_SEED, PHANTOM_SEED, camus_frames, phantom_cycles

HMCQU_RECORDING = "ES0001 _4CH_1.gif"


def range_low(values: pd.Series) -> float:
    return values.min() / thresholds.RANGE_MARGIN


def range_high(values: pd.Series) -> float:
    return values.max() * thresholds.RANGE_MARGIN


def share(values: pd.Series) -> float:
    return values.max() * thresholds.SHARE_MARGIN


def halfway_to_one(values: pd.Series) -> float:
    return (values.max() + 1.0) / 2.0


#: Each constant of lvwall.quality.thresholds: (table, measurement, rule).
RULES: dict[str, tuple[str, str, Callable[[pd.Series], float]]] = {
    "MIN_WALL_FRACTION": ("walls", "wall_fraction", range_low),
    "MAX_OUTSIDE_LARGEST": ("walls", "outside_largest", share),
    "MAX_HOLE_SHARE": ("walls", "hole_share", share),
    "MIN_CAVITY_RATIO": ("walls", "cavity_ratio", range_low),
    "MAX_SECOND_CAVITY": ("walls", "second_cavity", share),
    "MIN_OPENING": ("walls", "opening", range_low),
    "MAX_OPENING": ("walls", "opening", range_high),
    "MIN_THICKNESS": ("walls", "thickness_median", range_low),
    "MAX_THICKNESS": ("walls", "thickness_median", range_high),
    "MAX_THICKNESS_HIGH": ("walls", "thickness_high", range_high),
    "MAX_AREA_CHANGE": ("motion", "area_change", share),
    "MAX_SHIFT": ("motion", "shift", share),
    "MAX_FAN_FRACTION": ("echo", "fraction", halfway_to_one),
    "MAX_FAN_TAPER": ("echo", "taper", halfway_to_one),
    "MAX_DARK_SHARE": ("echo", "dark_share", halfway_to_one),
}


def two_digits(value: float) -> float:
    """``value`` rounded to two significant digits."""
    if value == 0:
        return 0.0
    return round(value, 1 - math.floor(math.log10(abs(value))))


def wall_table(masks: list[tuple[str, np.ndarray]], source: str) -> pd.DataFrame:
    rows = []
    for name, mask in masks:
        shape = measure_wall(mask)
        rows.append(
            {"source": source, "name": name, **dataclasses.asdict(shape), **shape_checks(shape)}
        )
    return pd.DataFrame(rows)


def motion_table(cycles: list[tuple[str, np.ndarray]], source: str) -> pd.DataFrame:
    rows = []
    for name, masks in cycles:
        checker = JumpChecker()
        for index, mask in enumerate(masks):
            motion = checker.update(mask)
            if motion is not None:
                rows.append(
                    {
                        "source": source,
                        "name": f"{name}#{index}",
                        **dataclasses.asdict(motion),
                        **jump_checks(motion),
                    }
                )
    return pd.DataFrame(rows)


def echo_rows(name: str, source: str, frames: list[np.ndarray]) -> list[dict]:
    """One row per frame: the fan found over the first frames (as ``lvwall predict`` finds
    a recording's sector) and the frame's content inside it."""
    greys = [prepare_frame(frame) for frame in frames]
    sector = find_sector(np.stack(greys[:SECTOR_FRAMES]))
    fan = fan_shape(sector)
    rows = []
    for index, grey in enumerate(greys):
        content = sector_content(grey, sector)
        rows.append(
            {
                "source": source,
                "name": f"{name}#{index}",
                **dataclasses.asdict(fan),
                **dataclasses.asdict(content),
                **echo_checks(fan, content),
            }
        )
    return rows


def non_echo_images() -> dict[str, np.ndarray]:
    """Inputs that are not echoes: blank, noise, a checkerboard, rendered text, a photo and an
    MR slice (the last two from matplotlib's sample data)."""
    import matplotlib.cbook as cbook

    rng = np.random.default_rng(0)
    page = np.full((300, 400), 255, np.uint8)
    for row in range(30, 300, 30):
        cv2.putText(page, "Lorem ipsum dolor sit", (5, row), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    squares = np.indices((6, 8)).sum(axis=0) % 2
    images = {
        "blank black": np.zeros((300, 400), np.uint8),
        "blank grey": np.full((300, 400), 128, np.uint8),
        "uniform noise": rng.integers(0, 256, (300, 400), dtype=np.uint8),
        "gaussian noise": np.clip(rng.normal(60, 30, (300, 400)), 0, 255).astype(np.uint8),
        "checkerboard": np.kron(squares * 255, np.ones((50, 50))).astype(np.uint8),
        "text on white": page,
        "text on black": 255 - page,
    }
    photo = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    images["photo"] = cv2.cvtColor(photo, cv2.COLOR_BGR2RGB)
    with cbook.get_sample_data("s1045.ima.gz") as handle:
        slice_ = np.frombuffer(handle.read(), np.uint16).reshape(256, 256)
    images["MR slice"] = (slice_ / slice_.max() * 255).astype(np.uint8)
    return {
        name: image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
        for name, image in images.items()
    }


def describe(table: pd.DataFrame, columns: list[str], title: str) -> None:
    print(f"\n{title}")
    quantiles = table.groupby("source")[columns].quantile([0.0, 0.01, 0.5, 0.99, 1.0])
    print(quantiles.unstack().T.round(4).to_string())


def flag_rates(table: pd.DataFrame, flags: list[str], title: str) -> None:
    """Per source: frames, and the share flagged by each of ``flags`` (columns named after
    flags hold the reasons of flagged rows)."""
    print(f"\n{title}")
    flagged = pd.DataFrame({flag: table.get(flag, pd.Series(index=table.index)) for flag in flags})
    rates = flagged.notna().groupby(table["source"]).mean().map(lambda rate: f"{rate:.1%}")
    counts = table.groupby("source").size().rename("frames")
    print(pd.concat([counts, rates], axis=1).to_string())


def predicted_flags(hmcqu_video: Path) -> pd.DataFrame:
    """The bundled model's masks of the HMC-QU recording, through quality control in order,
    with the recording's sector as ``lvwall predict`` finds it (from its first frames)."""
    model = load_segmentation_model(None, backend="onnx")
    frames = list(iter_frames(hmcqu_video))
    sector = find_sector(np.stack([prepare_frame(f) for f in frames[:SECTOR_FRAMES]]))
    control = QualityControl()
    rows = []
    for index, frame in enumerate(segment_frames(frames, model, PredictOptions())):
        measurement = control.examine(frame.image, frame.probability, frame.mask, sector)
        rows.append({"source": "HMC-QU, predicted", "name": index, **measurement.reasons})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, default=Path("../shared/data/camus-a4c-dev"))
    parser.add_argument("--hmcqu", type=Path, default=Path("../shared/data/hmcqu-sample"))
    parser.add_argument("--phantom-recordings", type=int, default=12)
    parser.add_argument("--check-recordings", type=int, default=6)
    args = parser.parse_args()

    camus = camus_frames(args.camus)
    reference = list(phantom_cycles(PHANTOM_SEED, args.phantom_recordings))
    check = list(phantom_cycles(PHANTOM_CHECK_SEED, args.check_recordings))
    hmcqu = list(iter_frames(args.hmcqu / HMCQU_RECORDING))

    walls = pd.concat(
        [
            wall_table([(f.name, f.truth) for f in camus], "CAMUS dev"),
            wall_table(
                [(f"{n}#{k}", m) for n, _, ms in reference for k, m in enumerate(ms)],
                f"phantom seed {PHANTOM_SEED}",
            ),
        ],
        ignore_index=True,
    )
    motion = motion_table([(n, ms) for n, _, ms in reference], f"phantom seed {PHANTOM_SEED}")
    echo = pd.DataFrame(
        [row for f in camus for row in echo_rows(f.name, "CAMUS dev", [f.image])]
        + echo_rows("ES0001", "HMC-QU sample", hmcqu)
        + [row for n, frames, _ in reference for row in echo_rows(n, "phantom", list(frames))]
    )
    tables = {"walls": walls, "motion": motion, "echo": echo}
    describe(
        walls,
        [
            f.name
            for f in dataclasses.fields(measure_wall(camus[0].truth))
            if f.name not in ("enclosed_cavity",)
        ],
        "Ground-truth walls at 224 x 224",
    )
    describe(
        motion,
        ["area_change", "shift"],
        "Ground-truth wall motion against the frames before (lvwall.quality.jump)",
    )
    describe(
        echo, ["fraction", "taper", "dark_share", "brightness"], "Echo frames: fan and content"
    )

    print(f"\n{'constant':20s} {'measurement':17s} {'rule':15s} {'derived':>9s} {'module':>9s}")
    mismatches = []
    for constant, (table, column, rule) in RULES.items():
        derived = two_digits(rule(tables[table][column].dropna()))
        current = getattr(thresholds, constant)
        mark = "" if math.isclose(derived, current) else "  <- differs"
        if mark:
            mismatches.append(constant)
        print(
            f"{constant:20s} {column:17s} {rule.__name__:15s} {derived:9.4g} {current:9.4g}{mark}"
        )

    check_walls = wall_table(
        [(f"{n}#{k}", m) for n, _, ms in check for k, m in enumerate(ms)],
        f"phantom seed {PHANTOM_CHECK_SEED} (held out)",
    )
    check_motion = motion_table(
        [(n, ms) for n, _, ms in check], f"phantom seed {PHANTOM_CHECK_SEED} (held out)"
    )
    shape_flags = [flag for flag in FLAGS if flag not in ("not_echo", "jump")]
    all_walls = pd.concat([walls, check_walls], ignore_index=True)
    flag_rates(all_walls, shape_flags, "Shape flags on ground-truth walls")
    all_motion = pd.concat([motion, check_motion], ignore_index=True)
    flag_rates(all_motion, ["jump"], "Jump flags on ground-truth cycles")
    flag_rates(echo, ["not_echo"], "not_echo on echo frames")
    non_echo = pd.DataFrame(
        [
            row
            for name, image in non_echo_images().items()
            for row in echo_rows(name, "non-echo", [image])
        ]
    )
    flag_rates(non_echo, ["not_echo"], "not_echo on non-echo images (should be 100%)")
    for _, row in non_echo.iterrows():
        print(f"  {row['name']:18s} {row.get('not_echo', 'NOT FLAGGED')}")
    flag_rates(
        predicted_flags(args.hmcqu / HMCQU_RECORDING),
        list(FLAGS),
        "Bundled model's predictions on the HMC-QU sample, in order",
    )
    if mismatches:
        print(f"\nlvwall.quality.thresholds differs from its derivation: {', '.join(mismatches)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
