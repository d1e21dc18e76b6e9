"""`lahan report`: results.jsonl -> report.md, report.html (one file) and PNG plots.

The recommendation follows a stated rule: the fastest row (throughput over the split
as a same-run ratio against the baseline: rows are timed in separate runs, so raw
documents/s are not compared) whose accuracy is within ``within`` points of the
baseline's; the metric and the margin are configurable. Each ratio is shown with its
spread over the repeats (round-by-round ratios), and a row whose baseline ran more than
``DRIFT_LIMIT`` away from the median baseline is marked: the machine was busier or
quieter then, so its docs/s do not compare with other rows' (its ratio still does).

The ``reference`` row (a TF-IDF + linear SVM trained on the same split) is measured like
the others but never recommended: the recommendation is among the transformers, and a
sentence says how the cheap model compares, and that it is enough when it meets the rule.
"""

from __future__ import annotations

import base64
import html
import re
import statistics
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from lahan.config import ReportConfig
from lahan.errors import LahanError
from lahan.io import atomic_write_text, save_figure
from lahan.records import SweepRow
from lahan.sweep.results import read_results

PAPER = (
    "Mirashi et al. (2024) found 25% block movement pruning + knowledge distillation the "
    "best configuration for the MahaNews topic classifier: 2.56x faster than the "
    "baseline at the baseline's accuracy, on one GPU."
)

DRIFT_LIMIT = 0.20  # a row's baseline this far from the median baseline is marked


def pareto_front(points: list[tuple[str, float, float]]) -> list[str]:
    """Ids of the points no other point beats on both axes (higher is better on both)."""
    front = []
    for name, x, y in points:
        dominated = any(
            (x2 >= x and y2 >= y) and (x2 > x or y2 > y)
            for other, x2, y2 in points
            if other != name
        )
        if not dominated:
            front.append(name)
    return front


def is_reference(row: SweepRow) -> bool:
    return bool(row.row.get("reference"))


def meets_rule(row: SweepRow, config: ReportConfig) -> bool:
    """Within ``within`` points of the baseline on ``metric``."""
    return (
        row.metric(config.metric) >= row.metric(f"baseline_{config.metric}") - config.within / 100
    )


def recommend(rows: list[SweepRow], config: ReportConfig) -> SweepRow | None:
    """The fastest transformer row within ``within`` points of the baseline on ``metric``."""
    ok = [r for r in rows if r.ok and not is_reference(r)]
    if not ok:
        return None
    eligible = [r for r in ok if meets_rule(r, config)]
    # Same-run ratios, not raw documents/s: each row was timed in its own run.
    return max(eligible, key=lambda r: r.speedup_vs_baseline) if eligible else None


def scatter_points(ok: list[SweepRow], metric: str) -> list[tuple[str, float, float]]:
    """(row, throughput ratio vs baseline, metric in %) per finished row: raw docs/s
    come from separate runs on a noisy machine, so the x axis is the same-run ratio."""
    return [(r.id, r.speedup_vs_baseline, 100 * r.metric(metric)) for r in ok]


def baseline_drift(ok: list[SweepRow]) -> dict[str, float]:
    """Per row, how far its run's baseline throughput was from the median baseline
    (+0.3 = 30% faster), for rows that recorded it."""
    speeds = {
        r.id: r.baseline_throughput_docs_per_s for r in ok if r.baseline_throughput_docs_per_s
    }
    if not speeds:
        return {}
    median = statistics.median(speeds.values())
    return {row_id: speed / median - 1 for row_id, speed in speeds.items()}


# Where a point's label may go, tried in order: (dx, dy) in points, horizontal alignment.
_LABEL_SPOTS = [(4, 3, "left"), (4, -9, "left"), (-4, 3, "right"), (-4, -9, "right")]
_LABEL_SPOTS += [(4, 12, "left"), (4, -18, "left"), (-4, 12, "right"), (-4, -18, "right")]


def place_labels(ax, points: list[tuple[str, float, float]]) -> list:
    """Annotate each point with its name where the label overlaps no label placed
    before it (the first free spot around the point; the last spot when none is free)."""
    renderer = ax.figure.canvas.get_renderer()
    placed, boxes = [], []
    for name, x, y in sorted(points, key=lambda p: (-p[2], p[1])):
        for dx, dy, ha in _LABEL_SPOTS:
            label = ax.annotate(
                name, (x, y), fontsize=7, xytext=(dx, dy), textcoords="offset points", ha=ha
            )
            box = label.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(other) for other in boxes):
                break
            if (dx, dy, ha) != _LABEL_SPOTS[-1]:
                label.remove()
        boxes.append(box)
        placed.append(label)
    return placed


def _plots(rows: list[SweepRow], front: list[str], folder: Path, metric: str) -> dict[str, Path]:
    ok = [r for r in rows if r.ok]
    paths = {}
    fig = Figure(figsize=(8, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    points = scatter_points(ok, metric)
    references = {r.id for r in ok if is_reference(r)}
    for row_id, x, y in points:
        on = row_id in front
        if row_id in references:  # not a transformer: its own marker and colour
            ax.scatter(x, y, s=60, marker="D", color="tab:green", zorder=4, label="TF-IDF + SVM")
            continue
        ax.scatter(
            x, y, s=40 if on else 18, color="tab:red" if on else "tab:blue", zorder=3 if on else 2
        )
    line = sorted((p for p in points if p[0] in front), key=lambda p: p[1])
    ax.plot(
        [x for _, x, _ in line],
        [y for _, _, y in line],
        color="tab:red",
        linewidth=1,
        label="Pareto front",
    )
    ax.axhline(
        100 * ok[0].metric(f"baseline_{metric}"),
        color="grey",
        linestyle="--",
        linewidth=0.8,
        label="baseline",
    )
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.set_xlabel("throughput vs baseline (x, same-run ratio, log scale)")
    ax.set_ylabel(f"{metric} (%)")
    ax.set_title(f"{metric} vs throughput (each row as a same-run ratio to the baseline)")
    ax.legend()
    fig.canvas.draw()  # lay the axes out first, so label boxes are where they will be
    place_labels(ax, points)
    paths["pareto"] = save_figure(fig, folder / "accuracy_vs_throughput.png")

    ids = [r.id for r in ok]
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ax1.barh(ids, [1000 * r.train_kg_co2 for r in ok], color="tab:green")
    ax1.set_xlabel("training CO2 (g; none for rows not trained in the sweep)")
    ax2.barh(ids, [1000 * r.inference_kg_co2_per_1000 for r in ok], color="tab:orange")
    ax2.set_xlabel("inference CO2 per 1,000 predictions (g)")
    ax2.set_yticklabels([])
    for ax in (ax1, ax2):
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle("CO2: training (left) and inference (right), CodeCarbon")
    paths["co2"] = save_figure(fig, folder / "co2.png")

    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(ids, [r.size_on_disk_bytes / 1e6 for r in ok], color="tab:purple")
    ax.set_xlabel("size on disk (MB)")
    ax.set_title("weights on disk")
    ax.tick_params(axis="y", labelsize=7)
    paths["size"] = save_figure(fig, folder / "size.png")
    return paths


def _speed_cell(r: SweepRow) -> str:
    """The same-run ratio, with its spread over the repeats when recorded."""
    cell = f"{r.speedup_vs_baseline:.2f}"
    low, high = r.speedup_range_vs_baseline or (None, None)
    if low is not None and high - low >= 0.005:
        cell += f" ({low:.2f}-{high:.2f})"
    return cell


def _docs_cell(r: SweepRow) -> str:
    """docs/s, next to the baseline's docs/s in the same run when recorded."""
    base = r.baseline_throughput_docs_per_s
    own = f"{r.throughput_docs_per_s:.1f}"
    return own if base is None else f"{own} ({base:.1f})"


def _table(rows: list[SweepRow], drift: dict[str, float]) -> tuple[list[str], list[list[str]]]:
    head = [
        "row",
        "acc",
        "macro-F1",
        "Δacc (pt)",
        "docs/s (baseline, same run)",
        "speed x (range over repeats)",
        "p50 b1 ms",
        "p95 b1 ms",
        "size MB",
        "params",
        "train s",
        "train gCO2",
        "infer gCO2/1k",
        "note",
    ]
    body = []
    for r in rows:
        if not r.ok:
            status = r.status or "?"
            body.append([r.id, f"{status}: " + (r.reason or ""), *[""] * (len(head) - 2)])
            continue
        body.append(
            [
                r.id,
                f"{r.accuracy:.4f}",
                f"{r.macro_f1:.4f}",
                f"{100 * (r.accuracy - r.baseline_accuracy):+.2f}",
                _docs_cell(r),
                _speed_cell(r),
                f"{1000 * r.latency_batch1_p50_s:.1f}",
                f"{1000 * r.latency_batch1_p95_s:.1f}",
                f"{r.size_on_disk_bytes / 1e6:.1f}",
                f"{r.params:,}" if r.params else "-",
                f"{r.train_seconds:.0f}",
                f"{1000 * r.train_kg_co2:.2f}",
                f"{1000 * r.inference_kg_co2_per_1000:.3f}",
                "; ".join(
                    n
                    for n in (
                        "TF-IDF + linear SVM" if is_reference(r) else "",
                        _drift_note(drift.get(r.id)),
                    )
                    if n
                ),
            ]
        )
    return head, body


def _drift_note(drift: float | None) -> str:
    if drift is None or abs(drift) <= DRIFT_LIMIT:
        return ""
    return f"baseline {100 * drift:+.0f}% vs median: docs/s not comparable"


def _group_table(ok: list[SweepRow]) -> tuple[list[str], list[list[str]]] | None:
    """Accuracy / macro-F1 per sub-dataset (e.g. headlines vs paragraphs), where rows
    recorded them; None when no row did."""
    groups = sorted({g for r in ok for g in (r.by_group or {})})
    if not groups:
        return None
    head = ["row"] + [f"{g} {m}" for g in groups for m in ("acc", "macro-F1")]
    body = []
    for r in ok:
        by_group = r.by_group or {}
        cells = [r.id]
        for g in groups:
            m = by_group.get(g)
            cells += [f"{m['accuracy']:.4f}", f"{m['macro_f1']:.4f}"] if m else ["-", "-"]
        body.append(cells)
    counts = {g: m["n"] for r in ok for g, m in (r.by_group or {}).items()}
    head[1:] = [f"{h} (n={counts[h.rsplit(' ', 1)[0]]})" for h in head[1:]]
    return head, body


def _md_table(head: list[str], body: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(cells) + " |" for cells in body),
    ]


def write_report(folder: str | Path, config: ReportConfig | None = None) -> dict:
    config = config or ReportConfig()
    folder = Path(folder)
    results = read_results(folder)
    if not results:
        raise LahanError(f"'{folder}' has no results.jsonl rows: run `lahan sweep --out {folder}`")
    rows = sorted(
        results.values(),
        key=lambda r: -r.speedup_vs_baseline if r.ok else float("inf"),
    )
    ok = [r for r in rows if r.ok]
    if not ok:
        raise LahanError(f"'{folder}': no row finished yet, nothing to report")
    front = pareto_front([(r.id, r.speedup_vs_baseline, r.metric(config.metric)) for r in ok])
    plots = _plots(ok, front, folder, config.metric)
    best = recommend(ok, config)
    drift = baseline_drift(ok)
    moved = [row_id for row_id, d in drift.items() if abs(d) > DRIFT_LIMIT]
    head, body = _table(rows, drift)
    groups = _group_table(ok)
    paper_row = results.get("prune25+kd")
    rule = (
        f"the fastest configuration whose {config.metric} is within {config.within:g} point(s) "
        "of the baseline's"
    )
    if best:
        verdict = (
            f"**Recommended: `{best.id}`** ({rule}): {best.speedup_vs_baseline:.2f}x the "
            f"baseline's throughput, {config.metric} {best.metric(config.metric):.4f} vs the "
            f"baseline's {best.metric(f'baseline_{config.metric}'):.4f}, "
            f"{best.size_on_disk_bytes / 1e6:.1f} MB on disk."
        )
    else:
        verdict = f"No transformer configuration meets the rule ({rule})."
    reference = next((r for r in ok if is_reference(r)), None)
    if reference is not None:
        verdict += " " + _reference_sentence(reference, best, config)
    comparison = PAPER + " "
    if paper_row and paper_row.ok:
        comparison += (
            f"Here, the same configuration (`prune25+kd`) runs at "
            f"{paper_row.speedup_vs_baseline:.2f}x the baseline's throughput with "
            f"{100 * (paper_row.accuracy - paper_row.baseline_accuracy):+.2f} accuracy "
            "points"
        )
        comparison += (
            f", and `{best.id}` is the recommended one."
            if best and best.id != "prune25+kd"
            else ", and it is also the recommended one."
            if best
            else "."
        )
    else:
        comparison += "The 25% + KD row is not in these results."
    machine = ok[0].machine or {}
    md = [
        "# lahan sweep report",
        "",
        f"{len(ok)} configurations measured, {len(rows) - len(ok)} skipped or failed; "
        f"scored on the `{ok[0].split or 'dev'}` split; "
        f"machine: {machine.get('processor', '?')}, "
        f"{machine.get('torch_threads', '?')} threads. Every row is timed side by side with "
        "the baseline in its own run; speed ratios are those same-run ratios (in brackets: "
        "lowest and highest round-by-round ratio over the repeats), and docs/s are shown "
        "next to the baseline's docs/s in the same run."
        + (
            f" The baseline of {len(moved)} row(s) ({', '.join(f'`{m}`' for m in moved)}) ran "
            f"more than {100 * DRIFT_LIMIT:.0f}% away from the median baseline: the machine "
            "was busier or quieter then, so their docs/s do not compare with other rows'."
            if moved
            else ""
        ),
        "",
        verdict,
        "",
        comparison,
        "",
        *_md_table(head, body),
        "",
        *(["Per sub-dataset:", "", *_md_table(*groups), ""] if groups else []),
        f"Pareto front ({config.metric} vs throughput ratio): "
        + ", ".join(f"`{i}`" for i in front),
        "",
        "![accuracy vs throughput](accuracy_vs_throughput.png)",
        "",
        "![CO2](co2.png)",
        "",
        "![size](size.png)",
        "",
        f"Energy: CodeCarbon offline tracker, {ok[0].power_method or '?'}.",
        "",
    ]
    atomic_write_text(folder / "report.md", "\n".join(md))
    atomic_write_text(
        folder / "report.html", _html(md, [(head, body)] + ([groups] if groups else []), plots)
    )
    return {
        "recommended": best.id if best else None,
        # whether the TF-IDF + linear SVM meets the same rule (None: no reference row)
        "reference_meets_rule": meets_rule(reference, config) if reference else None,
        "pareto_front": front,
        "files": [str(folder / "report.md"), str(folder / "report.html")]
        + [str(p) for p in plots.values()],
    }


def _reference_sentence(ref: SweepRow, best: SweepRow | None, config: ReportConfig) -> str:
    """How the TF-IDF + linear SVM compares: enough, or what the transformer earns."""
    gap = 100 * (ref.metric(config.metric) - ref.metric(f"baseline_{config.metric}"))
    figures = (
        f"{config.metric} {ref.metric(config.metric):.4f} ({gap:+.2f} points vs the baseline), "
        f"{ref.speedup_vs_baseline:.2f}x the baseline's throughput, "
        f"{ref.size_on_disk_bytes / 1e6:.1f} MB on disk"
    )
    if not meets_rule(ref, config):
        if best is None:  # nothing meets the rule: no side earns anything
            return f"The TF-IDF + linear SVM (`{ref.id}`) does not meet the rule either: {figures}."
        return (
            f"The TF-IDF + linear SVM (`{ref.id}`) does not meet the rule: {figures}; the "
            "transformer earns its cost here."
        )
    sentence = (
        f"**A cheap model is enough here:** the TF-IDF + linear SVM (`{ref.id}`) meets the "
        f"same rule: {figures}"
    )
    if best is not None and ref.metric(config.metric) > best.metric(config.metric):
        sentence += f", and scores higher than the recommended `{best.id}`"
    return sentence + "."


def _inline_markdown(line: str) -> str:
    """The markdown the report's sentences use (`code`, **bold**) as HTML, escaped."""
    escaped = html.escape(line)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def _html(
    md: list[str], tables: list[tuple[list[str], list[list[str]]]], plots: dict[str, Path]
) -> str:
    """One self-contained page: the text, the table, and the plots inlined as data URIs."""
    text = [f"<p>{_inline_markdown(line)}</p>" for line in md[2:7] if line]
    table = "".join(
        "<table><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in head)
        + "</tr>"
        + "".join(
            "<tr>" + "".join(f"<td>{_inline_markdown(c)}</td>" for c in cells) + "</tr>"
            for cells in body
        )
        + "</table><p></p>"
        for head, body in tables
    )
    images = "".join(
        f'<img alt="{name}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode()}">'
        for name, path in plots.items()
    )
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
        "padding:3px 6px;text-align:right}td:first-child{text-align:left}img{max-width:100%}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>lahan sweep report</title>"
        f"<style>{style}</style></head><body><h1>lahan sweep report</h1>{''.join(text)}"
        f"{table}{images}</body></html>\n"
    )
