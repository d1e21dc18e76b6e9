"""Training checkpoints: what a killed run needs to continue exactly where it stopped.

A checkpoint is one folder, written whole or not at all (``atomic_dir``):
``state.safetensors`` holds every tensor (model state, the values of the parameters the
optimizer updates outside the model, e.g. a plug-in's, the optimizer's moments, the best epoch's
weights, the torch RNG states) and ``state.json`` the rest (epoch and batch reached,
the loop's counters and history, scheduler, Python and NumPy RNG states, and a
fingerprint of the run's settings and data). The tokenizer is saved beside them, so a
from-scratch run resumes with the exact vocabulary it started with. No pickle.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from lahan.errors import LahanError, OptionError
from lahan.io import atomic_dir, atomic_write_json

TENSORS = "state.safetensors"
META = "state.json"


def checkpoint_folder(out: str | Path) -> Path:
    """Where the checkpoint of a run writing ``out`` lives: beside it, ``OUT.checkpoint``."""
    out = Path(out)
    return out.with_name(out.name + ".checkpoint")


def has_checkpoint(folder: Path) -> bool:
    """Whether a whole checkpoint is at ``folder``. A kill between the two renames of
    ``atomic_dir`` leaves the previous checkpoint as ``.NAME.old``: it is moved back."""
    if (folder / META).is_file():
        return True
    old = folder.with_name(f".{folder.name}.old")
    if (old / META).is_file() and not folder.exists():
        os.replace(old, folder)
        return True
    return False


def remove_checkpoint(folder: Path) -> None:
    """Remove a finished run's checkpoint: its marker first, so that no half-removed
    folder can pass for an unfinished run; then the folder and any swap leftovers."""
    for candidate in (folder, folder.with_name(f".{folder.name}.old")):
        (candidate / META).unlink(missing_ok=True)
        shutil.rmtree(candidate, ignore_errors=True)


def check_resume(out: Path, resume: bool) -> Path:
    """The checkpoint folder of a run into ``out``, after refusing to overwrite an
    unfinished run's checkpoint unless asked to resume it."""
    folder = checkpoint_folder(out)
    if not resume and has_checkpoint(folder):
        raise LahanError(
            f"'{folder}' holds the checkpoint of an unfinished run into '{out}': pass "
            "--resume to continue it, or delete that folder to start over"
        )
    return folder


def run_fingerprint(config: dict, texts: list[str], labels: list[int], model) -> str:
    """What must not change between a run and its resumption."""
    material = json.dumps(
        {
            "config": config,
            "labels": labels,
            "shapes": {k: list(v.shape) for k, v in model.state_dict().items()},
        },
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(material.encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()[:16]


@dataclass
class TrainResult:
    best_epoch: int
    best_dev: dict
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0
    examples_per_second: float = 0.0
    steps: int = 0
    stopped_early: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LoopState:
    """The training loop's own state, all in one object: what it carries from step to
    step, and what a checkpoint holds besides the tensors of model, optimizer and RNG."""

    result: TrainResult = field(default_factory=lambda: TrainResult(best_epoch=0, best_dev={}))
    best_state: dict[str, torch.Tensor] | None = None  # the best epoch's weights, on CPU
    epochs_without_gain: int = 0
    seen: int = 0  # training examples seen, all processes together
    running: float = 0.0  # running (exponential) average of the loss
    elapsed: float = 0.0  # training seconds before this process started (resumed runs)
    epoch: int = 1  # the epoch to continue (1-based)
    batch: int = 0  # batches of that epoch already done

    def counters(self) -> dict:
        """The JSON part of a checkpoint (``loop`` in state.json)."""
        return {
            "result": self.result.to_dict(),
            "epochs_without_gain": self.epochs_without_gain,
            "seen": self.seen,
            "running": self.running,
            "elapsed": self.elapsed,
        }


@dataclass
class Resumed:
    """A loaded checkpoint: the loop's state, and the RNG states to put back where the
    run continues."""

    state: LoopState
    rng: tuple[dict[str, torch.Tensor], dict]

    def restore_rng(self) -> None:
        tensors, meta = self.rng
        torch.set_rng_state(tensors["rng.torch"])
        if "rng.cuda" in tensors and torch.cuda.is_available():
            torch.cuda.set_rng_state(tensors["rng.cuda"])
        version, state, gauss = meta["python_rng"]
        random.setstate((version, tuple(state), gauss))
        kind, keys, pos, has_gauss, cached = meta["numpy_rng"]
        np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


def save_checkpoint(
    folder: Path,
    *,
    model: torch.nn.Module,
    optimizer,
    scheduler,
    tokenizer,
    state: LoopState,
    fingerprint: str,
) -> None:
    """Write the run's whole state to ``folder`` (atomically); ``state.epoch`` and
    ``state.batch`` say where the run will continue."""
    # clone(): tied weights share storage, which safetensors refuses to save twice
    tensors = {f"model.{k}": v.detach().cpu().clone() for k, v in model.state_dict().items()}
    # parameters the optimizer updates outside the model (a plug-in's, e.g. a distillation
    # projection); the model's own are in its state dict already
    own = {id(p) for p in model.parameters()}
    params = [p for group in optimizer.param_groups for p in group["params"]]
    tensors |= {
        f"param.{i}": p.detach().cpu().clone() for i, p in enumerate(params) if id(p) not in own
    }
    optim = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in optim["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optim.{index}.{key}"] = value.detach().cpu().clone()
            else:
                scalars.setdefault(str(index), {})[key] = value
    for k, v in (state.best_state or {}).items():
        tensors[f"best.{k}"] = v.detach().cpu().clone()
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():  # this process's device only
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    version, python_state, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    meta = {
        "epoch": state.epoch,
        "batch": state.batch,
        "loop": state.counters(),
        "fingerprint": fingerprint,
        "has_best": state.best_state is not None,
        "optimizer_groups": optim["param_groups"],
        "optimizer_scalars": scalars,
        "scheduler": scheduler.state_dict(),
        "python_rng": [version, list(python_state), gauss],
        "numpy_rng": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
    }
    with atomic_dir(folder) as tmp:
        save_file(tensors, str(tmp / TENSORS))
        tokenizer.save_pretrained(tmp)
        atomic_write_json(tmp / META, meta)  # last: its presence marks a whole checkpoint


def load_checkpoint(
    folder: Path, *, model: torch.nn.Module, optimizer, scheduler, fingerprint: str
) -> Resumed:
    """Put the checkpoint's state into model, optimizer and scheduler; return the rest."""
    if not has_checkpoint(folder):
        raise OptionError(
            "resume",
            f": no checkpoint at '{folder}' (none was written yet, or it is "
            "incomplete): run again without --resume",
        )
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        tensors = load_file(str(folder / TENSORS))
        found = meta["fingerprint"]
    except Exception as err:  # noqa: BLE001 - whatever is wrong, the checkpoint is damaged
        raise OptionError(
            "resume",
            f": the checkpoint at '{folder}' is damaged ({type(err).__name__}: "
            f"{' '.join(str(err).split())[:120]}): delete it and start over",
        ) from err
    if found != fingerprint:
        raise OptionError(
            "resume",
            f": the checkpoint at '{folder}' belongs to a run with other settings, "
            "data or model: pass the same options as that run, or delete the checkpoint",
        )
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    params = [p for group in optimizer.param_groups for p in group["params"]]
    with torch.no_grad():
        for i, p in enumerate(params):
            if f"param.{i}" in tensors:
                p.copy_(tensors[f"param.{i}"])
    optim: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            optim.setdefault(int(index), {})[name] = value
    for index, values in meta["optimizer_scalars"].items():
        optim.setdefault(int(index), {}).update(values)
    optimizer.load_state_dict({"state": optim, "param_groups": meta["optimizer_groups"]})
    scheduler.load_state_dict(meta["scheduler"])
    best = None
    if meta["has_best"]:
        best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    loop = meta["loop"]
    state = LoopState(
        result=TrainResult(**loop["result"]),
        best_state=best,
        epochs_without_gain=loop["epochs_without_gain"],
        seen=loop["seen"],
        running=loop["running"],
        elapsed=loop.get("elapsed", 0.0),
        epoch=meta["epoch"],
        batch=meta["batch"],
    )
    return Resumed(state, (tensors, meta))
