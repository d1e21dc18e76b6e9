"""Teacher outputs computed once, stored on disk, reused across epochs and sweep rows.

An entry is keyed by a hash of (a) the teacher's weights and (b) the exact token ids
the training texts become (so the data, the tokenizer, the max length and the
truncation rule are all in the key), plus which hidden layers are stored. Change any
of them and the key changes: a stale entry can never be used. Entries are written
atomically (temp folder + rename); a damaged one is rebuilt, never read.

Layout: ``<cache_dir>/teacher-outputs/<key>/outputs.safetensors`` holding
``logits`` [N, labels] (float32) and, when hidden states are asked for,
``hidden.<layer>`` [total tokens, width] (float16: half the disk, ample precision for
an MSE target) with ``offsets`` [N + 1] marking each example's tokens. The file is
memory-mapped, so hidden states are read batch by batch, not loaded whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import DataCollatorWithPadding, PreTrainedModel, PreTrainedTokenizerBase

from lahan.io import atomic_dir, atomic_write_json
from lahan.progress import progress as progress_lines

log = logging.getLogger(__name__)

OUTPUTS_FILE = "outputs.safetensors"
META_FILE = "meta.json"
HIDDEN_DTYPE = torch.float16


def fingerprint_model(model: torch.nn.Module) -> str:
    """sha256 of every tensor of the state dict (name, shape, dtype, bytes)."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().to("cpu").contiguous()
        h.update(f"{name}|{tuple(t.shape)}|{t.dtype}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def fingerprint_inputs(encodings: dict[str, list]) -> str:
    """sha256 of the token ids (and masks, segment ids) of every example, in order."""
    h = hashlib.sha256()
    for key in sorted(encodings):
        h.update(key.encode())
        for ids in encodings[key]:
            h.update(len(ids).to_bytes(4, "little"))
            h.update(np.asarray(ids, dtype=np.int64).tobytes())
    return h.hexdigest()


@dataclass
class TeacherOutputs:
    """The teacher's outputs for every training example, looked up by example index."""

    logits: torch.Tensor  # [N, labels], float32, in the teacher's label order
    hidden_layers: tuple[int, ...]  # indices into the teacher's hidden_states tuple
    path: Path
    offsets: torch.Tensor | None = None  # [N + 1] token offsets of each example

    def __post_init__(self) -> None:
        self._file = safe_open(str(self.path), framework="pt") if self.hidden_layers else None

    def batch_logits(self, indices: torch.Tensor) -> torch.Tensor:
        return self.logits[indices.to("cpu")]

    def batch_hidden(self, indices: torch.Tensor, seq_len: int) -> list[torch.Tensor]:
        """Per stored layer, [B, seq_len, width] float32, zeros past each example's end."""
        out = []
        rows = indices.tolist()
        for layer in self.hidden_layers:
            slicer = self._file.get_slice(f"hidden.{layer}")
            width = slicer.get_shape()[1]
            padded = torch.zeros(len(rows), seq_len, width, dtype=torch.float32)
            for b, i in enumerate(rows):
                start, end = int(self.offsets[i]), int(self.offsets[i + 1])
                tokens = min(end - start, seq_len)
                padded[b, :tokens] = slicer[start : start + tokens].float()
            out.append(padded)
        return out


def cache_key(teacher_fp: str, inputs_fp: str, hidden_layers: Sequence[int]) -> str:
    material = json.dumps(
        {
            "teacher": teacher_fp,
            "inputs": inputs_fp,
            "hidden_layers": list(hidden_layers),
            "hidden_dtype": str(HIDDEN_DTYPE),
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:24]


@torch.no_grad()
def compute_outputs(
    teacher: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    encodings: dict[str, list],
    hidden_layers: Sequence[int],
    batch_size: int = 64,
    progress: bool = True,
) -> dict[str, torch.Tensor]:
    """Run the teacher once over every example (longest first, fp32, eval mode)."""
    teacher.eval()
    device = next(teacher.parameters()).device
    n = len(encodings["input_ids"])
    lengths = [len(ids) for ids in encodings["input_ids"]]
    order = sorted(range(n), key=lambda i: -lengths[i])
    collate = DataCollatorWithPadding(tokenizer, return_tensors="pt")
    logits = torch.zeros(n, teacher.config.num_labels)
    per_example: dict[int, list[torch.Tensor | None]] = {
        layer: [None] * n for layer in hidden_layers
    }
    batches = range(0, n, batch_size)
    for start in progress_lines(batches, "teacher outputs", enabled=progress):
        idx = order[start : start + batch_size]
        batch = collate([{k: v[i] for k, v in encodings.items()} for i in idx]).to(device)
        outputs = teacher(**batch, output_hidden_states=bool(hidden_layers))
        logits[idx] = outputs.logits.float().cpu()
        for layer in hidden_layers:
            states = outputs.hidden_states[layer].to("cpu", HIDDEN_DTYPE)
            for b, i in enumerate(idx):
                per_example[layer][i] = states[b, : lengths[i]].clone()
    tensors = {"logits": logits.contiguous()}
    if hidden_layers:
        tensors["offsets"] = torch.tensor([0, *np.cumsum(lengths).tolist()], dtype=torch.int64)
        for layer in hidden_layers:
            tensors[f"hidden.{layer}"] = torch.cat(per_example[layer]).contiguous()
    return tensors


def _load(entry: Path, n: int, num_labels: int, hidden_layers: tuple[int, ...]):
    """The entry if it is whole and matches; None if missing or damaged."""
    meta_path, file = entry / META_FILE, entry / OUTPUTS_FILE
    if not (meta_path.is_file() and file.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with safe_open(str(file), framework="pt") as f:
            # Copies: get_tensor may map the file, and logits are small enough to hold.
            logits = f.get_tensor("logits").float().clone()
            offsets = f.get_tensor("offsets").clone() if hidden_layers else None
            names = set(f.keys())
    except Exception as err:  # noqa: BLE001 - any damage means: rebuild it
        log.warning("teacher-output cache entry %s is damaged (%s): rebuilding it", entry, err)
        return None
    expected = {f"hidden.{layer}" for layer in hidden_layers}
    if (
        meta.get("examples") != n
        or tuple(logits.shape) != (n, num_labels)
        or not expected <= names
        or (offsets is not None and len(offsets) != n + 1)
    ):
        log.warning("teacher-output cache entry %s does not match: rebuilding it", entry)
        return None
    return TeacherOutputs(logits, hidden_layers, file, offsets)


def teacher_outputs(
    teacher: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    encodings: dict[str, list],
    cache_dir: Path,
    hidden_layers: Sequence[int] = (),
    batch_size: int = 64,
    progress: bool = True,
) -> tuple[TeacherOutputs, dict]:
    """The teacher's outputs for ``encodings``, from the cache or computed and stored.

    Returns the outputs and what happened: ``hit``, ``key``, ``path``, ``seconds``
    (time to fingerprint + load, or to compute + store). In a multi-process run the
    main process calls this first; the others call it after a barrier and hit.
    """
    started = time.perf_counter()
    hidden_layers = tuple(sorted(set(hidden_layers)))
    n = len(encodings["input_ids"])
    teacher_fp, inputs_fp = fingerprint_model(teacher), fingerprint_inputs(encodings)
    key = cache_key(teacher_fp, inputs_fp, hidden_layers)
    entry = Path(cache_dir) / "teacher-outputs" / key
    loaded = _load(entry, n, teacher.config.num_labels, hidden_layers)
    hit = loaded is not None
    if not hit:
        tensors = compute_outputs(
            teacher, tokenizer, encodings, hidden_layers, batch_size, progress
        )
        with atomic_dir(entry) as tmp:
            save_file(tensors, str(tmp / OUTPUTS_FILE))
            atomic_write_json(
                tmp / META_FILE,
                {
                    "key": key,
                    "teacher_fingerprint": teacher_fp,
                    "inputs_fingerprint": inputs_fp,
                    "examples": n,
                    "num_labels": teacher.config.num_labels,
                    "hidden_layers": list(hidden_layers),
                    "hidden_dtype": str(HIDDEN_DTYPE),
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "compute_seconds": round(time.perf_counter() - started, 3),
                },
            )
        loaded = _load(entry, n, teacher.config.num_labels, hidden_layers)
    if loaded is None:
        raise RuntimeError(f"teacher-output cache entry {entry} could not be read after writing")
    info = {
        "hit": hit,
        "key": key,
        "path": str(entry),
        "seconds": round(time.perf_counter() - started, 3),
        "hidden_layers": list(hidden_layers),
    }
    return loaded, info
