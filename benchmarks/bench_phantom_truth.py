"""The range of LV function that the phantom simulates, from its analytic truth.

Run: ``.venv/bin/python benchmarks/bench_phantom_truth.py [--recordings N] [--seed S]``.
Simulates N recordings as ``lvwall simulate --seed S`` draws them (in tiny videos: the
truth, in millimetres, does not depend on the video's size) and prints the spread of their
true EF and GLS, and of each segment's true end-systolic strain with and without MI, with
the AUROC of that strain for the MI segments (how well the truth itself separates them).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from lvwall.data import SEGMENT_NAMES, draw_params, recording_seed, simulate_recording

#: A tiny video: the truth is computed from the contours in cm, whatever the frame size.
TINY = {"width": 64, "height": 48}
PERCENTILES = (0, 5, 50, 95, 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    truths, labels = [], []
    for index in range(1, args.recordings + 1):
        seed = recording_seed(args.seed, index)
        recording = simulate_recording(seed, params=draw_params(seed, **TINY))
        truths.append(recording.function)
        labels.append(recording.record.segment_mi)
    labels = np.array(labels)
    ef = np.array([truth.ef_percent for truth in truths])
    gls = np.array([truth.gls_percent for truth in truths])
    strain = np.array([truth.strain_percent for truth in truths])
    columns = [f"p{p}" for p in PERCENTILES]
    print(f"{args.recordings} recordings (seed {args.seed}), {int(labels.any(1).sum())} with MI")
    spread = pd.DataFrame(
        [np.percentile(ef, PERCENTILES), np.percentile(gls, PERCENTILES)],
        index=["EF (%)", "GLS (%)"],
        columns=columns,
    )
    print(spread.round(1).to_string())
    rows = []
    for k, name in enumerate(SEGMENT_NAMES):
        mi = labels[:, k]
        row = {"segment": name, "MI": int(mi.sum())}
        for label, chosen in (("MI", mi), ("non-MI", ~mi)):
            values = strain[chosen, k]
            row[f"{label} median"] = np.median(values) if len(values) else np.nan
            row[f"{label} max"] = values.max() if len(values) else np.nan
            row[f"{label} min"] = values.min() if len(values) else np.nan
        row["AUROC"] = roc_auc_score(mi, strain[:, k]) if 0 < mi.sum() < len(mi) else np.nan
        rows.append(row)
    print("\nEnd-systolic segmental strain (%) of the truth:")
    print(pd.DataFrame(rows).set_index("segment").round(2).to_string())


if __name__ == "__main__":
    main()
