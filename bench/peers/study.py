"""Study 4: lahan side by side with the tools users would pick instead (issue 17).

One command runs the whole study and can be killed and rerun: every step writes one JSON
row under OUT/rows/ atomically, and a rerun skips the steps whose row exists (a failed
step leaves OUT/rows/NAME.error.txt and is retried). Each peer runs in its own virtual
environment under OUT/venvs/ (created here with the pip commands in PEERS; TextPruner and
Optimum pin transformers 4.x), never as a project dependency, and every model is measured
by the same code (bench/peers/common.py) on the same dev texts: accuracy, macro-F1 per
sub-dataset, stored size, and throughput as a ratio to the teacher timed in the same
process, interleaved. lahan's own rows are made by the lahan CLI in this environment.

    python bench/peers/study.py --teacher runs/peers/teacher \\
        --data ../shared/data/mahanews --out runs/peers            # everything, resumable
    python bench/peers/study.py ... --list                          # the steps and their state
    python bench/peers/study.py ... --only 'textpruner-*'           # some steps
    python bench/peers/study.py ... --table                         # OUT/study4.md from the rows

Run it alone on the machine: the speed ratios are same-process, but a second job on the
same cores still makes them noisier.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TORCH = "torch==2.13.0"  # the CPU build on this machine's disk; an unpinned torch pulls CUDA

# peer -> the pip commands that build its venv (after TORCH), and the step module
PEERS: dict[str, dict] = {
    "textpruner": {
        "module": "peer_textpruner.py",
        "pip": [
            ["transformers", "numpy", "tqdm", "sentencepiece", "protobuf", "safetensors"],
            # its setup.py compares Python versions as strings and pins numpy<1.22 on 3.11
            ["--no-deps", "textpruner==1.1.post2"],
            # TextPruner calls model.prune_heads, which transformers 5 removed
            ["transformers>=4.57,<5"],
        ],
    },
    "torch_pruning": {
        "module": "peer_torch_pruning.py",
        "pip": [["torch-pruning>=1.6,<1.7", "transformers", "safetensors"]],
    },
    "optimum": {
        "module": "peer_optimum.py",
        "pip": [["optimum-onnx[onnxruntime]"]],
    },
    "inc": {
        "module": "peer_inc.py",
        "pip": [["neural-compressor[pt]==3.10", "transformers", "onnx", "onnxruntime"]],
    },
    "textbrewer": {
        "module": "peer_textbrewer.py",
        "pip": [["textbrewer", "transformers", "safetensors"]],
    },
}


@dataclass
class Options:
    teacher: Path
    data: str
    out: Path
    budgets: tuple[float, ...] = (0.25, 0.5, 0.75)
    prune_epochs: int = 4
    prune_lr: float = 2e-4
    distill_epochs: int = 6
    distill_lr: float = 5e-4
    student_layers: int = 2
    threads: int = 1  # when timing
    train_threads: int = 2  # when training (lahan and the peers alike)
    repeats: int = 5
    seed: int = 42
    # more training seeds for the pruning rows: each reruns as NAME-seedS (a row's spread)
    seeds: tuple[int, ...] = ()
    # an unlabeled text file for the vocabulary rows that keep a corpus's pieces (Study 5)
    corpus: str | None = None

    def __post_init__(self) -> None:
        if not all(0 < b < 1 for b in self.budgets):
            raise SystemExit(f"--budgets must lie in (0, 1), got {self.budgets}")
        for name in (
            "prune_epochs",
            "distill_epochs",
            "threads",
            "train_threads",
            "repeats",
            "student_layers",
        ):
            if getattr(self, name) < 1:
                raise SystemExit(f"--{name.replace('_', '-')} must be >= 1")

    @property
    def split(self) -> Path:
        return self.out / "split"

    def row(self, name: str) -> Path:
        return self.out / "rows" / f"{name}.json"


@dataclass
class Step:
    name: str
    run: Callable[[Options], None]
    needs: list[str] = field(default_factory=list)  # venvs


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def call(command: list[str], logfile: Path, env: dict | None = None) -> None:
    """Run a command with its output in ``logfile``; a failure raises with the log's tail."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with open(logfile, "a", encoding="utf-8") as f:
        f.write(f"$ {' '.join(map(str, command))}\n")
        f.flush()
        done = subprocess.run(
            [str(c) for c in command], stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
    if done.returncode != 0:
        tail = logfile.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise RuntimeError(
            f"exit {done.returncode}: {' '.join(map(str, command[:4]))} ...\n" + "\n".join(tail)
        )


# ---------------------------------------------------------------- preparation


def prepare(opts: Options) -> None:
    """The pooled split as lahan makes it, with label ids in the teacher's output order."""
    from lahan.config import DataConfig
    from lahan.data import load_dataset
    from lahan.models import label_ids, load_model, model_labels, resolve_label_map

    model, _, record = load_model(opts.teacher)
    outputs = model_labels(model)
    dataset = load_dataset(DataConfig(source=opts.data))
    label_map = resolve_label_map(outputs, dataset.labels, relabel=False)
    opts.split.mkdir(parents=True, exist_ok=True)
    for name in ("train", "dev"):
        rows = dataset.split(name)
        ids = label_ids(rows, outputs, label_map)
        tmp = opts.split / f"{name}.jsonl.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for r, i in zip(rows, ids, strict=True):
                f.write(
                    json.dumps({"text": r.text, "label": i, "group": r.group}, ensure_ascii=False)
                    + "\n"
                )
        os.replace(tmp, opts.split / f"{name}.jsonl")
    meta = {
        "labels": outputs,
        "max_length": record.max_length or 128,
        "teacher": str(opts.teacher),
        "data": opts.data,
        "data_fingerprint": dataset.fingerprint(),
        "sizes": {n: len(dataset.split(n)) for n in ("train", "dev")},
    }
    (opts.split / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    # the 2-layer student both distillers start from: the teacher's layers, evenly spaced
    from lahan.distill.students import parse_layers, shallow_copy

    layers = parse_layers(f"layers:{opts.student_layers}", model.config.num_hidden_layers)
    student = shallow_copy(model, layers)
    student.save_pretrained(opts.out / "student-init")
    load_model(opts.teacher)[1].save_pretrained(opts.out / "student-init")


def make_venv(peer: str) -> Callable[[Options], None]:
    def run(opts: Options) -> None:
        venv = opts.out / "venvs" / peer
        logfile = opts.out / "logs" / f"venv-{peer}.log"
        if venv.exists():
            shutil.rmtree(venv)  # a half-built venv from a killed run
        call([sys.executable, "-m", "venv", venv], logfile)
        pip = [venv / "bin" / "python", "-m", "pip", "install", "-q"]
        call([*pip, TORCH], logfile)
        for args in PEERS[peer]["pip"]:
            call([*pip, *args], logfile)
        freeze = subprocess.run(
            [venv / "bin" / "python", "-m", "pip", "freeze"], capture_output=True, text=True
        ).stdout
        (venv / "ready").write_text(freeze, encoding="utf-8")

    return run


def venv_python(opts: Options, peer: str) -> Path:
    return opts.out / "venvs" / peer / "bin" / "python"


# ---------------------------------------------------------------- steps


def step_options(opts: Options, name: str, task: str) -> list:
    """The options every step module takes (common.step_args)."""
    return [
        *("--split", opts.split, "--teacher", opts.teacher, "--task", task),
        *("--seed", opts.seed, "--threads", opts.threads, "--repeats", opts.repeats),
        *("--work", opts.out / "work" / name, "--out", opts.row(name)),
    ]


def peer_step(peer: str, name: str, task: str, *extra: str, seed: int | None = None) -> Step:
    def run(opts: Options) -> None:
        opts = replace(opts, seed=opts.seed if seed is None else seed)
        epochs, lr = (
            (opts.distill_epochs, opts.distill_lr)
            if task == "distill"
            else (opts.prune_epochs, opts.prune_lr)
        )
        call(
            [
                venv_python(opts, peer),
                HERE / PEERS[peer]["module"],
                *step_options(opts, name, task),
                *("--epochs", epochs, "--lr", lr, "--train-threads", opts.train_threads),
                *extra,
            ],
            opts.out / "logs" / f"{name}.log",
        )

    return Step(name, run, needs=[peer])


def lahan_step(
    name: str,
    make: list[str] | None,
    task: str,
    seed: int | None = None,
    measure: tuple[str, ...] = (),
) -> Step:
    """A lahan row: make the model with the lahan CLI (when ``make``), then measure it
    with the same code as the peers (peer_lahan.py, in this environment); ``seed``
    replaces the study's training seed; ``measure``: more peer_lahan.py options.
    In ``make``, {models} is OUT/models (a row made from another row's model)."""

    def run(opts: Options) -> None:
        opts = replace(opts, seed=opts.seed if seed is None else seed)
        model = opts.out / "models" / name if make is not None else opts.teacher
        logfile = opts.out / "logs" / f"{name}.log"
        env = {**os.environ, "LAHAN_CACHE_DIR": str(opts.out / "cache")}
        # the make step's times survive a rerun that only measures again
        timed = opts.out / "models" / f"{name}.make.json"
        made = json.loads(timed.read_text()) if timed.exists() else {"wall": 0.0, "cpu": 0.0}
        started, cpu_started = time.perf_counter(), _children_cpu()
        if make is not None and not timed.exists():
            resume = ["--resume"] if Path(f"{model}.checkpoint").exists() else []
            call(
                [
                    ROOT / ".venv" / "bin" / "lahan" if (ROOT / ".venv").exists() else "lahan",
                    *[
                        a.format(
                            teacher=opts.teacher,
                            data=opts.data,
                            out=model,
                            seed=opts.seed,
                            pe=opts.prune_epochs,
                            plr=opts.prune_lr,
                            de=opts.distill_epochs,
                            dlr=opts.distill_lr,
                            threads=opts.train_threads,
                            layers=opts.student_layers,
                            corpus=opts.corpus,
                            models=opts.out / "models",
                        )
                        for a in make
                    ],
                    *resume,
                ],
                logfile,
                env,
            )
            made = {"wall": time.perf_counter() - started, "cpu": _children_cpu() - cpu_started}
            timed.write_text(json.dumps(made), encoding="utf-8")
        call(
            [
                sys.executable,
                HERE / "peer_lahan.py",
                *step_options(opts, name, task),
                *("--model", model, "--make-seconds", made["wall"]),
                *("--make-cpu-seconds", made["cpu"]),
                *measure,
            ],
            logfile,
        )

    return Step(name, run)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # finished children, all threads
    return usage.ru_utime + usage.ru_stime


COMMON = [
    "--data",
    "{data}",
    "--out",
    "{out}",
    "--threads",
    "{threads}",
    "--seed",
    "{seed}",
    "--no-progress",
]


def pruning_steps(
    budget: float, seed: int | None = None, extra: tuple[str, ...] = (), peers: bool = True
) -> list[Step]:
    """lahan's and the peers' pruning rows at one budget (``NAME-seedS`` with ``seed``);
    ``extra``: more lahan CLI options for every lahan row; ``peers``: the peers' rows too."""
    pct, suffix = round(budget * 100), "" if seed is None else f"-seed{seed}"
    prune = [
        "compress",
        "--teacher",
        "{teacher}",
        "--prune",
        str(budget),
        "--granularity",
        "heads",
        "--epochs",
        "{pe}",
        "--lr",
        "{plr}",
        *COMMON,
        *extra,
    ]
    # one-shot: units scored once from gradients, the small model fine-tuned, as the
    # peers do (with and without distillation); uniform: every layer keeps the same share,
    # the peers' allocation
    taylor = [*prune, "--method", "taylor"]
    uniform = [*taylor, "--allocation", "uniform", "--distill"]
    made = {
        f"lahan-prune{pct}": prune,
        f"lahan-prune{pct}-kd": [*prune, "--distill"],
        f"lahan-prune{pct}-taylor": taylor,
        f"lahan-prune{pct}-taylor-kd": [*taylor, "--distill"],
        f"lahan-prune{pct}-taylor-uniform-kd": uniform,
    }
    out = [lahan_step(name + suffix, make, "measure", seed) for name, make in made.items()]
    for peer in ("textpruner", "torch_pruning") if peers else ():
        for name, extra in ((f"{peer}-prune{pct}", ()), (f"{peer}-prune{pct}-ft", ("--finetune",))):
            out.append(
                peer_step(
                    peer, name + suffix, "prune", "--sparsity", str(budget), *extra, seed=seed
                )
            )
    return out


def steps(opts: Options) -> list[Step]:
    out = [Step("prepare", prepare)]
    out += [Step(f"venv-{peer}", make_venv(peer)) for peer in PEERS]
    out.append(lahan_step("lahan-teacher", None, "measure"))
    for b in opts.budgets:
        out += pruning_steps(b)
    for seed in opts.seeds:  # the same rows again with other training seeds
        for b in opts.budgets:
            out += pruning_steps(b, seed)
    out.append(
        lahan_step(
            "lahan-int8",
            [
                "export",
                "--model",
                "{teacher}",
                "--quantize",
                "int8",
                "--data",
                "{data}",
                "--out",
                "{out}",
                "--threads",
                "{threads}",
            ],
            "onnx",
        )
    )
    out.append(peer_step("optimum", "optimum-int8", "int8"))
    out.append(peer_step("inc", "inc-int8", "int8"))
    out.append(
        lahan_step(
            "lahan-distill",
            [
                "compress",
                "--teacher",
                "{teacher}",
                "--distill",
                "--student",
                "layers:{layers}",
                "--epochs",
                "{de}",
                "--lr",
                "{dlr}",
                "--patience",
                "0",
                *COMMON,
            ],
            "measure",
        )
    )
    out.append(
        peer_step(
            "textbrewer",
            "textbrewer-distill",
            "distill",
            "--student",
            str(opts.out / "student-init"),
        )
    )
    out.append(lahan_step("lahan-trim-vocab", None, "trim-vocab"))
    out.append(peer_step("textpruner", "textpruner-vocab", "vocab"))
    return out


def done(opts: Options, step: Step) -> bool:
    if step.name == "prepare":
        return (opts.split / "meta.json").exists()
    if step.name.startswith("venv-"):
        return (opts.out / "venvs" / step.name[5:] / "ready").exists()
    return opts.row(step.name).exists()


def main(
    argv: list[str] | None = None,
    *,
    description: str = __doc__,
    make_steps: Callable[[Options], list[Step]] = steps,
    defaults: dict | None = None,
    write: Callable[[Path], Path] | None = None,
) -> int:
    """The study's command line; Study 5 (bench/study5.py) runs it with its own steps,
    ``defaults`` (argparse defaults by dest) and table writer ``write``."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teacher", required=True, type=Path, help="a lahan model folder")
    parser.add_argument("--data", required=True, help="the data the teacher was trained on")
    parser.add_argument("--out", type=Path, default=Path("runs/peers"))
    parser.add_argument("--budgets", default="0.25,0.5,0.75", help="pruning sparsities")
    parser.add_argument("--prune-epochs", type=int, default=4)
    parser.add_argument("--prune-lr", type=float, default=2e-4)
    parser.add_argument("--distill-epochs", type=int, default=6)
    parser.add_argument("--distill-lr", type=float, default=5e-4)
    parser.add_argument("--student-layers", type=int, default=2, help="of the distilled student")
    parser.add_argument("--threads", type=int, default=1, help="torch threads when timing")
    parser.add_argument("--train-threads", type=int, default=2, help="... when training")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--seeds",
        default="",
        help="more training seeds for the pruning rows, comma-separated: each row reruns "
        "as NAME-seedS, e.g. --seeds 1,2 --only 'torch_pruning-prune25-ft*'",
    )
    parser.add_argument(
        "--corpus", default=None, help="unlabeled text (one per line) for the vocabulary rows"
    )
    parser.add_argument("--only", default="*", help="glob(s) of step names, comma-separated")
    parser.add_argument(
        "--remeasure",
        action="store_true",
        help="measure the chosen lahan rows again (their models are kept): for timing "
        "alone on the machine after the models were made beside other jobs",
    )
    parser.add_argument("--list", action="store_true", help="list the steps and stop")
    parser.add_argument("--table", action="store_true", help="only write OUT/study4.md")
    parser.set_defaults(**(defaults or {}))
    args = parser.parse_args(argv)
    try:
        budgets = tuple(float(b) for b in args.budgets.split(","))
    except ValueError:
        parser.error(
            f"--budgets takes comma-separated fractions like 0.25,0.5, got '{args.budgets}'"
        )
    try:
        seeds = tuple(int(x) for x in args.seeds.split(",") if x.strip())
    except ValueError:
        parser.error(f"--seeds takes comma-separated integers like 1,2, got '{args.seeds}'")
    if Options.seed in seeds:
        parser.error(
            f"--seeds {args.seeds}: seed {Options.seed} is the study's own run (NAME, not "
            f"NAME-seed{Options.seed}); give the other seeds only"
        )
    if not (args.teacher / "lahan.json").exists():
        parser.error(f"--teacher '{args.teacher}' is not a lahan model folder (no lahan.json)")
    opts = Options(
        args.teacher,
        args.data,
        args.out,
        budgets,
        args.prune_epochs,
        args.prune_lr,
        args.distill_epochs,
        args.distill_lr,
        args.student_layers,
        threads=args.threads,
        train_threads=args.train_threads,
        repeats=args.repeats,
        seeds=seeds,
        corpus=args.corpus,
    )
    if write is None:
        from table import write_table as write  # bench/peers/table.py

    from lahan.errors import LahanError

    if args.table:
        log(f"wrote {write(opts.out)}")
        return 0
    patterns = args.only.split(",")
    chosen = [s for s in make_steps(opts) if any(fnmatch.fnmatch(s.name, p) for p in patterns)]
    if args.remeasure:
        for s in chosen:
            if s.name.startswith("lahan-"):
                opts.row(s.name).unlink(missing_ok=True)
    if args.list:
        for s in chosen:
            state = (
                "done"
                if done(opts, s)
                else "failed"
                if opts.row(s.name).with_suffix(".error.txt").exists()
                else "to do"
            )
            print(f"{s.name:40} {state}")
        return 0
    failed = []
    for s in chosen:
        if done(opts, s):
            continue
        missing = [p for p in s.needs if not (opts.out / "venvs" / p / "ready").exists()]
        if missing:
            log(
                f"skip {s.name}: its venv ({', '.join(missing)}) is not built "
                f"(run the venv-{missing[0]} step)"
            )
            failed.append(s.name)
            continue
        log(f"{s.name} ...")
        error = opts.row(s.name).with_suffix(".error.txt")
        started = time.perf_counter()
        try:
            s.run(opts)
        except LahanError as e:  # in-process steps (prepare): the user's input, one line
            raise SystemExit(f"{s.name}: {e}") from None
        except (RuntimeError, OSError) as e:
            error.parent.mkdir(parents=True, exist_ok=True)
            error.write_text(str(e), encoding="utf-8")
            log(f"{s.name} FAILED ({e.__class__.__name__}); see {error}")
            failed.append(s.name)
            continue
        error.unlink(missing_ok=True)
        log(f"{s.name} done in {time.perf_counter() - started:.0f} s")
    log(f"wrote {write(opts.out)}")
    if failed:
        log(f"{len(failed)} step(s) failed or skipped: {', '.join(failed)} (rerun to retry)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
