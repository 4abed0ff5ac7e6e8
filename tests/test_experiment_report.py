"""Tests for lvwall.experiment.report: the HTML shows the results' numbers and opens offline."""

from __future__ import annotations

import base64
import io
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from lvwall.experiment.figures import png_bytes
from lvwall.experiment.report import (
    ReportContext,
    ReportFigure,
    ReportTable,
    format_value,
    render_report,
    write_report,
)
from lvwall.experiment.results import ExperimentResults
from lvwall.experiment.stats import format_p
from lvwall.metrics import METRIC_NAMES


class ReportParser(HTMLParser):
    """Collects table cells (with their data-* attributes), image sources, every URL-bearing
    attribute and the tags used."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[dict[str, str], str]] = []
        self.images: list[str] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self._cell: dict[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = {key: value or "" for key, value in attrs}
        self.urls += [values[key] for key in ("src", "href", "action") if key in values]
        if tag == "img":
            self.images.append(values.get("src", ""))
        if tag == "td":
            self._cell, self._text = values, []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append((self._cell, "".join(self._text)))
            self._cell = None

    def cell(self, **data: str) -> str:
        found = [
            text
            for attrs, text in self.cells
            if all(attrs.get(f"data-{key}") == value for key, value in data.items())
        ]
        assert len(found) == 1, (data, found)
        return found[0]


def _results(
    n_recordings: int = 8, seed: int = 0, name: str = "PH{i:04d} _4CH_1"
) -> ExperimentResults:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_recordings):
        for loss in ("dice", "focal-tversky"):
            values = {metric: rng.uniform(0.5, 0.99) for metric in METRIC_NAMES}
            values["hd95"], values["assd"] = rng.uniform(1, 12), rng.uniform(0.3, 4)
            rows.append(
                {
                    "recording": name.format(i=i),
                    "patient": f"P{i}",
                    "mi": i % 2,
                    "fold": i % 2 + 1,
                    "loss": loss,
                    "n_frames": 10,
                    **values,
                }
            )
    table = pd.DataFrame(rows)
    table.loc[0, "hd95"] = math.nan
    candidates = [
        {
            "loss_kwargs": {"alpha": 0.3, "beta": 0.7, "gamma": 0.75},
            "inner_val_dice": 0.81,
            "run": "a",
        },
        {
            "loss_kwargs": {"alpha": 0.7, "beta": 0.3, "gamma": 0.75},
            "inner_val_dice": 0.77,
            "run": "b",
        },
    ]
    hyper = {
        "dice": [
            {
                "fold": k,
                "chosen": {},
                "candidates": [{"loss_kwargs": {}, "inner_val_dice": 0.8, "run": "c"}],
            }
            for k in (1, 2)
        ],
        "focal-tversky": [
            {"fold": k, "chosen": candidates[0]["loss_kwargs"], "candidates": candidates}
            for k in (1, 2)
        ],
    }
    return ExperimentResults.from_table(table, ["dice", "focal-tversky"], hyper)


def _figure_png(colour: str) -> bytes:
    figure = Figure(figsize=(2, 1))
    figure.subplots().plot([0, 1], [0, 1], color=colour)
    return png_bytes(figure, dpi=40)


CONTEXT = ReportContext(
    title="LV-wall segmentation: Dice loss vs Focal Tversky loss",
    dataset="synthetic phantom (ph)",
    settings=[("Experiment preset", "tiny")],
    notes=["Saliency skipped: RuntimeError: boom"],
    config_yaml="preset: tiny\nfolds: 2\n",
)


def _parse(html: str) -> ReportParser:
    parser = ReportParser()
    parser.feed(html)
    parser.close()
    return parser


@pytest.mark.parametrize(("n_recordings", "seed"), [(6, 0), (15, 1)])
def test_summary_table_shows_the_results_numbers(n_recordings: int, seed: int) -> None:
    results = _results(n_recordings, seed)
    summary = results.to_dict()["summary"]

    parser = _parse(render_report(results, [], CONTEXT))

    for loss in results.losses:
        for metric in results.metrics:
            expected = summary[loss][metric]
            mean_sd = parser.cell(loss=loss, metric=metric, stat="mean-sd")
            mean, sd = (float(v) for v in mean_sd.split(" ± "))
            low, high = (
                float(v)
                for v in re.findall(r"-?\d+\.\d+", parser.cell(loss=loss, metric=metric, stat="ci"))
            )
            places = 2 if metric in ("hd95", "assd") else 4
            for shown, value in ((mean, "mean"), (sd, "std"), (low, "ci_low"), (high, "ci_high")):
                assert shown == pytest.approx(expected[value], abs=0.5 * 10**-places)
    for metric, test in results.to_dict()["comparisons"][0]["tests"].items():
        p_value = math.nan if test["p_value"] is None else test["p_value"]
        assert parser.cell(loss="focal-tversky", metric=metric, stat="p") == format_p(p_value)


def test_report_carries_verdict_published_row_and_hyperparameters() -> None:
    results = _results()

    html = render_report(results, [], CONTEXT)
    text = re.sub(r"<[^>]+>", " ", html)

    assert results.verdicts[0] in html
    assert "95.72" in text and "99.58" in text
    assert "real HMC-QU" in text and "not comparable" in text
    assert "α = 0.3, β = 0.7, γ = 0.75" in text
    assert "Saliency skipped: RuntimeError: boom" in text
    parser = _parse(html)
    dice_percent = 100 * results.summaries["focal-tversky"]["dice"].mean
    assert parser.cell(column="Dice", row="focal-tversky") == f"{dice_percent:.2f}"
    assert parser.cell(column="Sensitivity", row="published") == "95.72"
    assert parser.cell(column="Dice", row="published") == "–"
    assert parser.cell(fold="1") == "α = 0.3, β = 0.7, γ = 0.75"


def test_report_is_self_contained_and_every_image_decodes(tmp_path: Path) -> None:
    pngs = [_figure_png("red"), _figure_png("blue")]
    figures = [ReportFigure("Figures", f"figure {i}", png, "caption") for i, png in enumerate(pngs)]

    path = write_report(tmp_path / "report.html", _results(), figures, CONTEXT)
    parser = _parse(path.read_text(encoding="utf-8"))

    assert len(parser.images) == len(pngs)
    for src, png in zip(parser.images, pngs, strict=True):
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data == png
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert image.format == "PNG"
    assert not [url for url in parser.urls if re.match(r"(?i)\s*(https?:)?//", url)]
    assert not {"script", "link", "iframe", "object", "embed"} & parser.tags


def test_names_are_escaped() -> None:
    html = render_report(_results(4, 2, name="<b>R{i}</b>"), [], CONTEXT)
    assert "<b>R0</b>" not in html
    assert "&lt;b&gt;R0&lt;/b&gt;" in html


@pytest.mark.parametrize(
    ("metric", "value", "text"),
    [
        ("dice", 0.81234, "0.8123"),
        ("hd95", 3.14159, "3.14"),
        ("assd", math.nan, "–"),
        ("iou", None, "–"),
        ("dice", -0.00003, "0.0000"),
        ("hd95", -1.5, "-1.50"),
    ],
)
def test_format_value(metric: str, value: float | None, text: str) -> None:
    assert format_value(metric, value) == text


def test_a_figure_table_is_shown_below_its_figure_and_escaped() -> None:
    table = ReportTable(
        "regional",
        ("Segment", "Score", "MI label"),
        (("SEG3", "0.12", "no MI"), ("SEG9", "0.03", "<MI>")),
    )
    figures = [
        ReportFigure("Regional wall analysis", "diagram", _figure_png("red"), "scores", table)
    ]

    html = render_report(_results(), figures, CONTEXT)
    parser = _parse(html)

    for segment, score, label in table.rows:
        assert parser.cell(table="regional", row=segment, column="Score") == score
        assert parser.cell(table="regional", row=segment, column="MI label") == label
    assert "&lt;MI&gt;" in html and "<MI>" not in html
    assert html.index("<figcaption>scores</figcaption>") < html.index('data-table="regional"')
    assert len(parser.images) == 1


@pytest.mark.parametrize(
    "rows", [(("SEG3", "0.12"),), (("SEG3", "0.12", "no MI", "extra"),), (("SEG3",), ("SEG9",))]
)
def test_a_table_with_rows_of_the_wrong_width_is_refused(rows: tuple[tuple[str, ...], ...]) -> None:
    with pytest.raises(ValueError, match="every row needs 3 cells"):
        ReportTable("regional", ("Segment", "Score", "MI label"), rows)
