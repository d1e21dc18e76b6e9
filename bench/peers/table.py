"""Study 4's tables and plot from the rows study.py wrote (OUT/rows/*.json).

    python bench/peers/table.py runs/peers      # writes runs/peers/study4.md and study4.png

Every figure is read from a row; a step that has no row yet shows as "not run" (and a
failed one as "failed", with the first line of its error).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

NAMES = {
    "lahan": "lahan",
    "textpruner": "TextPruner",
    "torch_pruning": "Torch-Pruning",
    "optimum": "Optimum ONNX",
    "inc": "Intel Neural Compressor",
    "textbrewer": "TextBrewer",
}


def load_rows(out: Path) -> dict[str, dict]:
    rows = {}
    for path in sorted((out / "rows").glob("*.json")):
        rows[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return rows


def _errors(out: Path) -> dict[str, str]:
    errors = {}
    for path in sorted((out / "rows").glob("*.error.txt")):
        first = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        errors[path.name.removesuffix(".error.txt")] = first[-1] if first else "failed"
    return errors


def _mb(n: float | None) -> str:
    return f"{n / 1e6:.1f} MB" if n else "–"


def _params(row: dict) -> str:
    return f"{row['params'] / 1e6:.2f}M" if row.get("params") else "–"  # ONNX rows: none


def _x(row: dict, batch: int = 32) -> str:
    s = (row.get("speed") or {}).get(f"batch{batch}")
    return f"{s['ratio_vs_teacher']:.2f}x" if s else "–"


def _seconds(row: dict) -> str:
    """Wall (CPU) seconds of making the model: the peer's step plus its fine-tuning."""
    wall = row.get("compress_seconds") or 0.0
    cpu = row.get("compress_cpu_seconds") or 0.0
    train = row.get("train") or {}
    wall += train.get("train_seconds", 0.0)
    cpu += train.get("train_cpu_seconds", 0.0)
    return f"{wall:.0f} ({cpu:.0f})" if wall else "–"


def _groups(row: dict) -> str:
    by = row["dev"].get("by_group") or {}
    return " / ".join(f"{by[g]['accuracy']:.4f}" for g in sorted(by)) or "–"


def _missing(name: str, errors: dict[str, str]) -> str:
    return f"failed: {errors[name][:80]}" if name in errors else "not run"


def pruning_table(rows: dict, errors: dict) -> list[str]:
    budgets = sorted({int(m.group(1)) for n in rows | errors if (m := re.search(r"prune(\d+)", n))})
    groups = sorted((rows.get("lahan-teacher", {}).get("dev") or {}).get("by_group") or {})
    lines = [
        f"| budget | method | dev acc | dev macro-F1 | {' / '.join(groups) or 'groups'} acc | "
        "params | size | speed vs teacher (batch 32) | make: wall (CPU) s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    teacher = rows.get("lahan-teacher")
    if teacher:
        lines.append(
            f"| 0% | teacher | {teacher['dev']['accuracy']:.4f} | "
            f"{teacher['dev']['macro_f1']:.4f} | "
            f"{_groups(teacher)} | {teacher['params'] / 1e6:.2f}M | {_mb(teacher['size_bytes'])} | "
            "1.00x | – |"
        )
    variants = [
        ("lahan-prune{p}", "lahan prune"),
        ("lahan-prune{p}-kd", "lahan prune + KD"),
        ("lahan-prune{p}-taylor", "lahan one-shot prune"),
        ("lahan-prune{p}-taylor-kd", "lahan one-shot prune + KD"),
        ("lahan-prune{p}-taylor-uniform-kd", "lahan one-shot prune, uniform + KD"),
        ("textpruner-prune{p}", "TextPruner (as delivered)"),
        ("textpruner-prune{p}-ft", "TextPruner + fine-tuning"),
        ("torch_pruning-prune{p}", "Torch-Pruning (as delivered)"),
        ("torch_pruning-prune{p}-ft", "Torch-Pruning + fine-tuning"),
    ]
    for p in budgets:
        for pattern, label in variants:
            name = pattern.format(p=p)
            row = rows.get(name)
            if row is None:
                if name in errors:
                    lines.append(f"| {p}% | {label} | {_missing(name, errors)} | | | | | | |")
                continue
            lines.append(
                f"| {p}% | {label} | {row['dev']['accuracy']:.4f} | {row['dev']['macro_f1']:.4f} | "
                f"{_groups(row)} | {row['params'] / 1e6:.2f}M | {_mb(row['size_bytes'])} | "
                f"{_x(row)} | {_seconds(row)} |"
            )
    return lines


def _lahan_at(name: str, pct: int) -> bool:
    """A lahan pruning row at ``pct``% (``lahan-prune5...`` is not one at 50%)."""
    return re.match(rf"lahan-prune{pct}(-|$)", name) is not None


def gap_table(rows: dict) -> list[str]:
    """Per budget: lahan's best row and the best peer row by dev accuracy, and the gap."""
    budgets = sorted({int(m.group(1)) for n in rows if (m := re.search(r"prune(\d+)", n))})
    lines = [
        "| budget | best lahan | acc | speed | best peer | acc | speed | gap (points) |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for p in budgets:
        mine = {n: r for n, r in rows.items() if _lahan_at(n, p) and not SEEDED.search(n)}
        theirs = {
            n: r
            for n, r in rows.items()
            if re.fullmatch(rf"(textpruner|torch_pruning)-prune{p}(-ft)?", n)
        }
        if not mine or not theirs:
            continue
        a = max(mine, key=lambda n: mine[n]["dev"]["accuracy"])
        b = max(theirs, key=lambda n: theirs[n]["dev"]["accuracy"])
        gap = (mine[a]["dev"]["accuracy"] - theirs[b]["dev"]["accuracy"]) * 100
        lines.append(
            f"| {p}% | {a} | {mine[a]['dev']['accuracy']:.4f} | {_x(mine[a])} | {b} | "
            f"{theirs[b]['dev']['accuracy']:.4f} | {_x(theirs[b])} | {gap:+.1f} |"
        )
    return lines


SEEDED = re.compile(r"-seed(\d+)$")  # a row rerun with another training seed


def _seed_runs(rows: dict) -> dict[str, dict[str, float]]:
    """Rows rerun with other seeds (NAME-seedS), by NAME: {seed: dev accuracy}, the
    study's own run of NAME (made with the study's seed) first."""
    runs: dict[str, dict[str, float]] = {}
    for name, row in rows.items():
        if m := SEEDED.search(name):
            runs.setdefault(name[: m.start()], {})[m.group(1)] = row["dev"]["accuracy"]
    for base, accs in runs.items():
        accs = dict(sorted(accs.items(), key=lambda kv: int(kv[0])))  # not the files' order
        if base in rows:
            own = {str(rows[base].get("seed", "study")): rows[base]["dev"]["accuracy"]}
            accs = {**own, **accs}
        runs[base] = accs
    return dict(sorted(runs.items()))


def _mean_sd(values) -> tuple[float, float]:
    values = list(values)
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else float("nan")


def seeds_table(rows: dict) -> list[str]:
    """Rows rerun with other seeds next to NAME: each seed's dev accuracy, their mean and
    standard deviation."""
    lines = ["| row | dev acc per seed | mean | sd | runs |", "| --- | --- | ---: | ---: | ---: |"]
    for base, accs in _seed_runs(rows).items():
        mean, sd = _mean_sd(accs.values())
        per_seed = ", ".join(f"{k}: {v:.4f}" for k, v in accs.items())
        lines.append(f"| {base} | {per_seed} | {mean:.4f} | {sd:.4f} | {len(accs)} |")
    return lines


def seeds_gap_table(rows: dict) -> list[str]:
    """Per budget, among the rows rerun with several seeds: lahan's best and the best peer
    by mean dev accuracy, the gap of the means, and whether it exceeds the larger sd."""
    runs = {b: a for b, a in _seed_runs(rows).items() if len(a) > 1}
    lines = [
        "| budget | best lahan (mean of runs) | mean | sd | best peer | mean | sd | gap (points) "
        "| beyond one sd |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    budgets = sorted({int(m.group(1)) for n in runs if (m := re.search(r"prune(\d+)", n))})
    for p in budgets:
        mine = {n: _mean_sd(a.values()) for n, a in runs.items() if _lahan_at(n, p)}
        theirs = {
            n: _mean_sd(a.values())
            for n, a in runs.items()
            if re.fullmatch(rf"(textpruner|torch_pruning)-prune{p}(-ft)?", n)
        }
        if not mine or not theirs:
            continue
        a = max(mine, key=lambda n: mine[n][0])
        b = max(theirs, key=lambda n: theirs[n][0])
        gap = mine[a][0] - theirs[b][0]
        beyond = "yes" if abs(gap) > max(mine[a][1], theirs[b][1]) else "no"
        lines.append(
            f"| {p}% | {a} ({len(runs[a])}) | {mine[a][0]:.4f} | {mine[a][1]:.4f} | "
            f"{b} ({len(runs[b])}) | {theirs[b][0]:.4f} | {theirs[b][1]:.4f} | {gap * 100:+.1f} "
            f"| {beyond} |"
        )
    return lines


def precision_table(rows: dict, errors: dict) -> list[str]:
    lines = [
        "| int8 of the teacher | dev acc | agreement with fp32 | size | speed batch 1 "
        "| speed batch 32 | make s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ("lahan-int8", "optimum-int8", "inc-int8"):
        row = rows.get(name)
        peer = NAMES[name.split("-")[0]]
        if row is None:
            lines.append(f"| {peer} | {_missing(name, errors)} | | | | | |")
            continue
        lines.append(
            f"| {peer} | {row['dev']['accuracy']:.4f} | {row.get('agreement', float('nan')):.4f} | "
            f"{_mb(row['size_bytes'])} | {_x(row, 1)} | {_x(row, 32)} | {_seconds(row)} |"
        )
    return lines


def simple_table(rows: dict, errors: dict, names: tuple[str, ...], extra: str) -> list[str]:
    head = (
        "| row | dev acc | dev macro-F1 | params | size | speed vs teacher | make: wall (CPU) s |"
    )
    lines = [head + (f" {extra} |" if extra else ""), "| --- |" + " ---: |" * (6 + bool(extra))]
    for name in names:
        row = rows.get(name)
        if row is None:
            lines.append(f"| {name} | {_missing(name, errors)} |" + " |" * (5 + bool(extra)))
            continue
        cell = ""
        if extra:
            cell = f" {row.get('vocab_after', '–')} of {row.get('vocab_before', '–')} |"
        lines.append(
            f"| {name} | {row['dev']['accuracy']:.4f} | {row['dev']['macro_f1']:.4f} | "
            f"{_params(row)} | "
            f"{_mb(row['size_bytes'])} | {_x(row)} | {_seconds(row)} |{cell}"
        )
    return lines


def plot(rows: dict, path: Path) -> Path | None:
    """Accuracy against speed: lahan's rows in one colour, the peers' in another."""
    points = [(n, r) for n, r in rows.items() if (r.get("speed") or {}).get("batch32")]
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, row in points:
        is_lahan = row["peer"] == "lahan"
        ax.scatter(
            row["speed"]["batch32"]["ratio_vs_teacher"],
            row["dev"]["accuracy"],
            color="tab:blue" if is_lahan else "tab:orange",
            marker="o" if is_lahan else "s",
        )
        ax.annotate(
            name,
            (row["speed"]["batch32"]["ratio_vs_teacher"], row["dev"]["accuracy"]),
            fontsize=6,
            xytext=(3, 3),
            textcoords="offset points",
        )
    ax.scatter([], [], color="tab:blue", marker="o", label="lahan")
    ax.scatter([], [], color="tab:orange", marker="s", label="peers")
    ax.set_xlabel("throughput vs the teacher (same process, batch 32)")
    ax.set_ylabel("dev accuracy")
    ax.set_title("Study 4: lahan and the peers")
    ax.legend()
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=130)
    plt.close(fig)
    tmp.replace(path)
    return path


def header(out: Path, rows: dict, title: str) -> list[str]:
    """The title, and what was measured how: the teacher, the data, the timing."""
    meta_path = out / "split" / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    teacher = rows.get("lahan-teacher")
    return [
        f"# {title}",
        "",
        f"Teacher `{meta.get('teacher', '?')}` on `{meta.get('data', '?')}` "
        f"(dev {meta.get('sizes', {}).get('dev', '?')} texts, data fingerprint "
        f"{meta.get('data_fingerprint', '?')}); speed = docs/s over the first 256 dev texts, "
        "texts in -> logits out, as a ratio to the teacher timed in the same process, "
        f"interleaved; threads {teacher['threads'] if teacher else '?'}.",
        "",
    ]


def pruning_sections(rows: dict, errors: dict) -> list[str]:
    """Pruning at matched budgets, lahan's best vs the peers' best, the seed reruns."""
    return [
        "## Pruning at matched budgets",
        "",
        *pruning_table(rows, errors),
        "",
        "## Best lahan row vs best peer row per budget",
        "",
        *gap_table(rows),
        "",
        "## Rows rerun with other training seeds",
        "",
        *seeds_table(rows),
        "",
        "Best lahan row vs best peer row per budget, on the means over seeds",
        "",
        *seeds_gap_table(rows),
    ]


def write_table(out: Path) -> Path:
    rows, errors = load_rows(out), _errors(out)
    versions = {r["peer"]: r.get("versions") for r in rows.values()}
    lines = [
        *header(out, rows, "Study 4: lahan and the peers"),
        *pruning_sections(rows, errors),
        "",
        "## int8",
        "",
        *precision_table(rows, errors),
        "",
        "## Distillation into the same 2-layer student",
        "",
        *simple_table(rows, errors, ("lahan-distill", "textbrewer-distill"), ""),
        "",
        "## Vocabulary",
        "",
        *simple_table(rows, errors, ("lahan-trim-vocab", "textpruner-vocab"), "tokens kept"),
        "",
        "## Versions",
        "",
        *[f"- {NAMES.get(p, p)}: {json.dumps(v)}" for p, v in sorted(versions.items())],
    ]
    picture = plot(rows, out / "study4.png")
    if picture:
        lines += ["", f"![Study 4]({picture.name})"]
    path = out / "study4.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python bench/peers/table.py OUT (the folder study.py wrote)")
    print(write_table(Path(sys.argv[1])))
