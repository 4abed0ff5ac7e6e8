"""The experiment report: one self-contained HTML file.

Everything the page needs is inside it: inline CSS, figures as base64 PNG ``data:`` URIs, no
scripts and no links to the network, so it opens offline, can be mailed as one file and
archived with a paper. Every number comes from :class:`lvwall.experiment.results.
ExperimentResults`, the object that also writes ``results.json``, so the page and the file
cannot disagree. Tables carry ``data-*`` attributes (loss, metric, statistic) so the numbers
can be read back by a parser.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from lvwall.atomic import write_text
from lvwall.experiment.results import (
    DISTANCE_METRICS,
    PUBLISHED_COLUMNS,
    PUBLISHED_SOURCE,
    ExperimentResults,
    published_rows,
)
from lvwall.experiment.stats import CONFIDENCE, METRIC_LABELS, format_p, loss_label
from lvwall.experiment.tuning import describe_kwargs

REPORT_FILE = "report.html"

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d2733; background: #f6f7f9; margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 1.6em; margin: 0.2em 0 0.3em; }
h2 { font-size: 1.2em; margin: 1.8em 0 0.5em; border-bottom: 2px solid #e3e7ec;
     padding-bottom: 0.2em; }
h3 { font-size: 1.0em; margin: 1.2em 0 0.4em; }
.meta { color: #56606b; font-size: 0.92em; }
.verdict { background: #eef6ff; border-left: 5px solid #2f7ed8; padding: 10px 14px;
           margin: 14px 0; font-size: 1.08em; }
.note { color: #56606b; font-size: 0.9em; }
.warning { background: #fff6e5; border-left: 5px solid #f0a020; padding: 8px 12px; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 0.92em; }
th, td { border: 1px solid #d9dee4; padding: 4px 9px; text-align: right; }
th { background: #f0f2f5; }
td.label, th.label { text-align: left; }
tr.published td { background: #fafafa; font-style: italic; }
figure { margin: 14px 0 22px; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e7ec; }
figcaption { color: #56606b; font-size: 0.9em; margin-top: 4px; }
pre { background: #f4f5f7; padding: 10px; overflow-x: auto; font-size: 0.85em; }
details summary { cursor: pointer; color: #2f7ed8; }
"""


@dataclass(frozen=True)
class ReportTable:
    """A small table shown under a figure: ``header`` names the columns and each row has one
    text per column. Cells carry ``data-table``, ``data-row`` (the row's first text) and
    ``data-column`` (the header) so they can be read back by a parser."""

    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        widths = {len(row) for row in self.rows}
        if widths - {len(self.header)}:
            raise ValueError(
                f"table {self.name!r}: every row needs {len(self.header)} cells, got {widths}"
            )


@dataclass(frozen=True)
class ReportFigure:
    """A PNG for the report, under the heading ``section``, with an optional table below."""

    section: str
    title: str
    png: bytes
    caption: str = ""
    table: ReportTable | None = None


@dataclass(frozen=True)
class ReportContext:
    """What the report says about the run besides the results.

    ``dataset`` describes the data in a phrase; ``settings`` are (name, value) rows of the
    methods table; ``notes`` are remarks such as a figure that was skipped.
    """

    title: str
    dataset: str
    settings: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    config_yaml: str = ""


def format_value(metric: str, value: float | None) -> str:
    """Ratios with 4 decimals, distances (pixels) with 2; an en dash for a missing value."""
    if value is None or math.isnan(value):
        return "–"
    text = f"{value:.2f}" if metric in DISTANCE_METRICS else f"{value:.4f}"
    # A tiny negative difference would otherwise show as "-0.0000".
    return text.lstrip("-") if float(text) == 0 else text


def _metric_name(metric: str) -> str:
    name = METRIC_LABELS.get(metric, metric)
    name = name[0].upper() + name[1:]
    return f"{name} (px)" if metric in DISTANCE_METRICS else name


def _cell(text: str, css_class: str = "", **data: str) -> str:
    attributes = "".join(f' data-{key}="{escape(value)}"' for key, value in data.items())
    class_attribute = f' class="{css_class}"' if css_class else ""
    return f"<td{class_attribute}{attributes}>{escape(text)}</td>"


def _summary_table(results: ExperimentResults) -> str:
    level = f"{round(100 * CONFIDENCE)}% CI"
    head = ['<th class="label" rowspan="2">Metric</th>']
    head += [f'<th colspan="2">{escape(loss_label(loss))}</th>' for loss in results.losses]
    head += [
        f'<th rowspan="2">p ({escape(loss_label(c.loss))} vs {escape(loss_label(c.reference))})'
        "</th>"
        for c in results.comparisons
    ]
    sub_head = "".join(f"<th>mean ± SD</th><th>{level}</th>" for _ in results.losses)
    rows = []
    for metric in results.metrics:
        cells = [_cell(_metric_name(metric), "label")]
        for loss in results.losses:
            summary = results.summaries[loss][metric]
            mean_sd = f"{format_value(metric, summary.mean)} ± {format_value(metric, summary.std)}"
            ci = (
                f"[{format_value(metric, summary.ci_low)}, {format_value(metric, summary.ci_high)}]"
            )
            cells.append(_cell(mean_sd, loss=loss, metric=metric, stat="mean-sd"))
            cells.append(_cell(ci, loss=loss, metric=metric, stat="ci"))
        for comparison in results.comparisons:
            test = comparison.tests[metric]
            cells.append(
                _cell(format_p(test.p_value), loss=comparison.loss, metric=metric, stat="p")
            )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table id="summary"><thead><tr>{"".join(head)}</tr><tr>{sub_head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _tests_table(results: ExperimentResults) -> str:
    blocks = []
    for comparison in results.comparisons:
        rows = []
        for metric in results.metrics:
            test = comparison.tests[metric]
            statistic = "–" if math.isnan(test.statistic) else f"{test.statistic:g}"
            rows.append(
                "<tr>"
                + _cell(_metric_name(metric), "label")
                + _cell(str(test.n), metric=metric, stat="n")
                + _cell(format_value(metric, test.mean_difference), metric=metric, stat="mean-diff")
                + _cell(
                    format_value(metric, test.median_difference), metric=metric, stat="median-diff"
                )
                + _cell(statistic, metric=metric, stat="statistic")
                + _cell(format_p(test.p_value), metric=metric, stat="p")
                + "</tr>"
            )
        title = f"{loss_label(comparison.loss)} minus {loss_label(comparison.reference)}"
        blocks.append(
            f"<h3>{escape(title)}</h3>"
            f'<table class="tests" data-loss="{escape(comparison.loss)}"><thead><tr>'
            '<th class="label">Metric</th><th>pairs</th><th>mean difference</th>'
            "<th>median difference</th><th>W</th><th>p (two-sided)</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    return "".join(blocks)


def _published_table(results: ExperimentResults) -> str:
    head = "".join(f"<th>{escape(name)} (%)</th>" for name in PUBLISHED_COLUMNS)
    rows = []
    for label, values in published_rows(results):
        is_published = label == PUBLISHED_SOURCE
        name = label if is_published else f"U-Net, {loss_label(label)} (this experiment)"
        cells = [_cell(name, "label")]
        for column, value in zip(PUBLISHED_COLUMNS, values, strict=True):
            text = "–" if value is None else f"{value:.2f}"
            cells.append(_cell(text, column=column, row="published" if is_published else label))
        css = ' class="published"' if is_published else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return (
        f'<table id="published"><thead><tr><th class="label">Method</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _hyperparameter_tables(results: ExperimentResults) -> str:
    blocks = []
    for loss, folds in results.hyperparameters.items():
        if not folds or not any(c["loss_kwargs"] for c in folds[0]["candidates"]):
            continue
        labels = [describe_kwargs(c["loss_kwargs"]) for c in folds[0]["candidates"]]
        head = "".join(f"<th>{escape(label)}</th>" for label in labels)
        rows = []
        for entry in folds:
            cells = [
                _cell(str(entry["fold"]), "label"),
                _cell(describe_kwargs(entry["chosen"]), "label", fold=str(entry["fold"])),
            ]
            for candidate in entry["candidates"]:
                dice = candidate["inner_val_dice"]
                cells.append(_cell(format_value("dice", dice)))
            rows.append(f"<tr>{''.join(cells)}</tr>")
        blocks.append(
            f"<h3>{escape(loss_label(loss))}</h3>"
            f'<table class="hyperparameters" data-loss="{escape(loss)}"><thead><tr>'
            f'<th class="label">Fold</th><th class="label">Chosen</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    if not blocks:
        return ""
    return (
        "<h2>Hyper-parameters chosen on the training folds</h2>"
        '<p class="note">Each candidate was trained on the outer training fold and scored on '
        "an inner, patient-wise validation split of it; the columns give that inner-validation "
        "Dice. The outer test fold was never used to choose.</p>" + "".join(blocks)
    )


def _recordings_table(results: ExperimentResults) -> str:
    columns = ["recording", "patient", "mi", "fold", "loss", "n_frames", *results.metrics]
    head = "".join(f"<th>{escape(column)}</th>" for column in columns)
    rows = []
    for record in results.table[columns].to_dict(orient="records"):
        cells = []
        for column in columns:
            value = record[column]
            if column in results.metrics:
                text = format_value(column, None if value is None else float(value))
            elif column == "loss":
                text = loss_label(str(value))
            else:
                text = str(value)
            cells.append(_cell(text, "label" if column in ("recording", "patient") else ""))
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f"<details><summary>Every recording ({len(rows)} rows)</summary>"
        f'<table id="recordings"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></details>"
    )


def _small_table(table: ReportTable) -> str:
    head = "".join(
        f'<th class="label">{escape(name)}</th>' if index == 0 else f"<th>{escape(name)}</th>"
        for index, name in enumerate(table.header)
    )
    rows = "".join(
        "<tr>"
        + "".join(
            _cell(
                text,
                "label" if index == 0 else "",
                table=table.name,
                row=row[0],
                column=column,
            )
            for index, (column, text) in enumerate(zip(table.header, row, strict=True))
        )
        + "</tr>"
        for row in table.rows
    )
    return (
        f'<table class="figure-table" data-table="{escape(table.name)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _figure(figure: ReportFigure) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    caption = f"<figcaption>{escape(figure.caption)}</figcaption>" if figure.caption else ""
    table = "" if figure.table is None else _small_table(figure.table)
    return (
        f'<figure><img alt="{escape(figure.title)}" src="data:image/png;base64,{data}">'
        f"{caption}</figure>{table}"
    )


def _figure_sections(figures: Sequence[ReportFigure]) -> str:
    sections: dict[str, list[ReportFigure]] = {}
    for figure in figures:
        sections.setdefault(figure.section, []).append(figure)
    return "".join(
        f"<h2>{escape(section)}</h2>" + "".join(_figure(figure) for figure in items)
        for section, items in sections.items()
    )


def _methods(context: ReportContext) -> str:
    rows = "".join(
        f"<tr>{_cell(name, 'label')}{_cell(value, 'label')}</tr>"
        for name, value in context.settings
    )
    settings = f'<table id="settings"><tbody>{rows}</tbody></table>' if rows else ""
    config = (
        f"<details><summary>The exact configuration (config.yaml)</summary>"
        f"<pre>{escape(context.config_yaml)}</pre></details>"
        if context.config_yaml
        else ""
    )
    return (
        "<h2>Methods</h2>"
        "<p>Recording-wise K-fold cross-validation: folds are drawn over patients and stratified "
        "by the MI label, and every loss is trained on the same folds with the same seed and "
        "budget. Each recording is scored once per loss, by the model of the fold that held it "
        "out; a recording's metric is the mean over its frames. Checkpoints and loss "
        "hyper-parameters are chosen on an inner, patient-wise validation split of the "
        "training fold (nested cross-validation), never on the test fold.</p>"
        f"<p>Summaries are mean ± sample standard deviation over recordings with a two-sided "
        f"{round(100 * CONFIDENCE)}% Student-t confidence interval of the mean. Losses are "
        "compared with the paired Wilcoxon signed-rank test over recordings (scipy, zero "
        "differences dropped, exact p-values for small samples); p-values are per metric and "
        "not corrected for multiple comparisons; Dice is the primary endpoint. HD95 and ASSD "
        "are in pixels of the model's input frames.</p>" + settings + config
    )


def render_report(
    results: ExperimentResults, figures: Sequence[ReportFigure], context: ReportContext
) -> str:
    """The report as one HTML document."""
    verdicts = "".join(f'<p class="verdict">{escape(text)}</p>' for text in results.verdicts)
    notes = "".join(f'<p class="note warning">{escape(text)}</p>' for text in context.notes)
    n_patients = results.table["patient"].nunique()
    n_mi = results.table.drop_duplicates("recording")["mi"].astype(int).sum()
    meta = (
        f"{escape(context.dataset)} · {results.n_recordings} recordings of {n_patients} "
        f"patients ({n_mi} with MI) · losses: "
        f"{escape(', '.join(loss_label(loss) for loss in results.losses))}"
    )
    hmcqu_note = (
        '<p class="note">The last row is the published result of Degerli et al. (IEEE Access '
        "9:34442, 2021) on the real HMC-QU dataset, quoted from the paper (– : not quoted). It "
        "is their number on their data, not a result of this experiment, and is not comparable "
        "to results on the phantom or on other data. Sensitivity is recall; values here are "
        "means over recordings.</p>"
    )
    body = (
        f"<h1>{escape(context.title)}</h1>"
        f'<p class="meta">{meta}</p>'
        f"{verdicts}{notes}"
        "<h2>Summary over recordings</h2>"
        f"{_summary_table(results)}"
        "<h2>Paired comparison (Wilcoxon signed-rank)</h2>"
        f"{_tests_table(results)}"
        "<h2>In the layout of published HMC-QU results</h2>"
        f"{_published_table(results)}{hmcqu_note}"
        f"{_hyperparameter_tables(results)}"
        f"{_figure_sections(figures)}"
        "<h2>Per-recording results</h2>"
        f"{_recordings_table(results)}"
        f"{_methods(context)}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(context.title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def write_report(
    path: str | Path,
    results: ExperimentResults,
    figures: Sequence[ReportFigure],
    context: ReportContext,
) -> Path:
    """Render the report and write it to ``path`` atomically."""
    return write_text(path, render_report(results, figures, context))
