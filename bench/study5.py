"""Study 5: the paper's rows and the peers on a pretrained multilingual teacher (issue 30).

The teacher is multilingual-e5-small (12 x 384, XLM-R's 250k SentencePiece vocabulary)
fine-tuned on MahaNews by ``lahan finetune``; every row is made by the lahan CLI (or a
peer in its own venv) and measured by the same code as Study 4 (bench/peers/common.py):
dev accuracy and macro-F1 per sub-dataset, stored size, and speed as a ratio to the
teacher timed in the same process. This file only lists Study 5's steps; the machinery
(resumable rows under OUT/rows/, venvs, --only, --list, --seeds) is bench/peers/study.py.

    ../shared/tools/make-e5-small runs/e5-small
    lahan finetune --model runs/e5-small --data ../shared/data/mahanews --epochs 6 \\
        --lr 1e-4 --group-by-length --threads 2 --out runs/e5/teacher
    python bench/study5.py --teacher runs/e5/teacher --data ../shared/data/mahanews \\
        --out runs/study5                                  # everything, resumable
    python bench/study5.py ... --only 'prepare,lahan-teacher,lahan-prune50-kd'
    python bench/study5.py ... --list                      # the steps and their state
    python bench/study5.py ... --remeasure --only 'lahan-*'  # time again, alone
    python bench/study5.py ... --table                     # OUT/study5.md from the rows

Rows may be made beside other jobs (accuracy does not care), but speed only counts from
a run alone on the machine: ``--remeasure`` measures the kept models again.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "peers"))

import study  # noqa: E402  (bench/peers/study.py)
import table  # noqa: E402  (bench/peers/table.py)

# e5 trains ~2x faster with length-grouped batches (4,261 texts from 5-word headlines to
# 128-token paragraphs); every lahan training row uses them, as the teacher did
GROUPED = ("--group-by-length",)
# the rows the best configurations are built from: each gets trimmed, then int8 ONNX
BASES = ("lahan-prune50-kd", "lahan-prune50-taylor-kd", "lahan-prune75-kd", "lahan-layers4-kd")
PAPER_SPEED = ("--paper-speed",)
DEFAULTS = {
    "out": Path("runs/study5"),
    "prune_lr": 1e-4,  # the teacher's own fine-tuning rate; 2e-4 (Study 4) is a small model's
    "distill_lr": 2e-4,
    "student_layers": 4,
    "corpus": "../shared/data/marathi-text/corpus.txt",
    "seeds": "1,2",
}


def _compress(*options: str) -> list[str]:
    return ["compress", "--teacher", "{teacher}", *options, *study.COMMON]


def _distill(layers: int) -> list[str]:
    return _compress(
        "--distill",
        *("--student", f"layers:{layers}", "--epochs", "{de}", "--lr", "{dlr}"),
        *GROUPED,
    )


def _trim(base: str | None, *options: str) -> list[str]:
    """Vocabulary trimming alone (no training) of the teacher or of another row's model."""
    teacher = "{teacher}" if base is None else f"{{models}}/{base}"
    return [
        "compress",
        *("--teacher", teacher, "--trim-vocab", *options),
        *study.COMMON,
    ]


def _int8(model: str) -> list[str]:
    return [
        "export",
        *("--model", model, "--quantize", "int8", "--data", "{data}"),
        *("--out", "{out}", "--threads", "{threads}"),
    ]


def steps(opts: study.Options) -> list[study.Step]:
    step = study.lahan_step
    out = [study.Step("prepare", study.prepare)]
    out += [study.Step(f"venv-{p}", study.make_venv(p)) for p in ("textpruner", "torch_pruning")]
    out += [study.Step(f"venv-{p}", study.make_venv(p)) for p in ("optimum", "inc")]
    out.append(step("lahan-teacher", None, "measure", measure=PAPER_SPEED))
    # the paper's rows: 25/50/75% with and without KD, movement and one-shot; the peers
    # (each + the same fine-tuning) at 50% and 75%
    for budget in opts.budgets:
        out += study.pruning_steps(budget, extra=GROUPED, peers=budget >= 0.5)
    for seed in opts.seeds:  # three training seeds at 50%
        out += study.pruning_steps(0.5, seed, extra=GROUPED)
    hybrid = _compress("--prune", "0.5", "--granularity", "hybrid", "--distill", *GROUPED)
    out.append(
        step("lahan-prune50-hybrid-kd", [*hybrid, "--epochs", "{pe}", "--lr", "{plr}"], "measure")
    )
    out += [step(f"lahan-layers{n}-kd", _distill(n), "measure") for n in (6, 4)]
    # the vocabulary: train texts only (peer_lahan's own step), + an unlabeled corpus,
    # + the 20k best-scored other pieces; TextPruner's pruner beside them
    out.append(step("lahan-trim-vocab", None, "trim-vocab"))
    corpus = ("--trim-vocab-text", "{corpus}")
    out.append(step("lahan-trim-corpus", _trim(None, *corpus), "measure", measure=PAPER_SPEED))
    # the cheapest candidate for the best configuration: nothing trained, the teacher's
    # vocabulary trimmed, then int8 ONNX
    trimmed_int8 = _int8("{models}/lahan-trim-corpus")
    out.append(step("lahan-trim-corpus-int8", trimmed_int8, "onnx", measure=PAPER_SPEED))
    top = ("--trim-vocab-top", "20000")
    out.append(step("lahan-trim-corpus-top20k", _trim(None, *corpus, *top), "measure"))
    out.append(study.peer_step("textpruner", "textpruner-vocab", "vocab"))
    # int8 of the teacher: lahan's, Optimum's, INC's
    out.append(step("lahan-int8", _int8("{teacher}"), "onnx", measure=PAPER_SPEED))
    out.append(study.peer_step("optimum", "optimum-int8", "int8"))
    out.append(study.peer_step("inc", "inc-int8", "int8"))
    # the best configurations: a base row, its vocabulary trimmed, then int8 ONNX, each
    # timed per sub-dataset against the padded teacher too
    for base in BASES:
        trimmed = f"{base}-trim"
        out.append(step(trimmed, _trim(base, *corpus), "measure", measure=PAPER_SPEED))
        out.append(
            step(f"{trimmed}-int8", _int8(f"{{models}}/{trimmed}"), "onnx", measure=PAPER_SPEED)
        )
    return out


def _paper_speed_table(rows: dict) -> list[str]:
    """Per sub-dataset: each row's throughput against the teacher padded to max_length
    and against the teacher as lahan runs it (length-padded batches), same process."""
    lines = [
        "| row | dev acc | group | vs padded teacher (batch 32) | vs teacher (batch 32) | "
        "vs padded teacher (batch 1) | size | teacher size / size |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in rows.items():
        for group, by in sorted((row.get("speed_by_group") or {}).items()):
            lahan = by["lahan"]
            one = lahan.get("batch1", {}).get("ratio_vs_padded_teacher")
            lines.append(
                f"| {name} | {row['dev']['accuracy']:.4f} | {group} | "
                f"{lahan['batch32']['ratio_vs_padded_teacher']:.2f}x | "
                f"{lahan['batch32']['ratio_vs_teacher']:.2f}x | "
                f"{f'{one:.2f}x' if one else '–'} | {table._mb(row.get('size_bytes'))} | "
                f"{row['teacher_size_bytes'] / row['size_bytes']:.1f} |"
            )
    return lines


def write_table(out: Path) -> Path:
    rows, errors = table.load_rows(out), table._errors(out)
    trims = ("lahan-trim-vocab", "lahan-trim-corpus", "lahan-trim-corpus-top20k")
    lines = [
        *table.header(out, rows, "Study 5: a pretrained multilingual teacher (e5-small)"),
        *table.pruning_sections(rows, errors),
        "",
        "## Distillation into the teacher's own layers; hybrid pruning",
        "",
        *table.simple_table(
            rows, errors, ("lahan-layers6-kd", "lahan-layers4-kd", "lahan-prune50-hybrid-kd"), ""
        ),
        "",
        "## Vocabulary",
        "",
        *table.simple_table(rows, errors, (*trims, "textpruner-vocab"), "tokens kept"),
        "",
        "## int8",
        "",
        *table.precision_table(rows, errors),
        "",
        "## The best configurations, per sub-dataset, against the padded teacher",
        "",
        *table.simple_table(
            rows,
            errors,
            ("lahan-trim-corpus-int8", *(f"{b}-trim{q}" for b in BASES for q in ("", "-int8"))),
            "",
        ),
        "",
        *_paper_speed_table(rows),
    ]
    path = out / "study5.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


if __name__ == "__main__":
    sys.exit(
        study.main(description=__doc__, make_steps=steps, defaults=DEFAULTS, write=write_table)
    )
