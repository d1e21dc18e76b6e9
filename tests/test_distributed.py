"""The same training loop under two CPU processes (DDP over gloo) matches one process."""

import json
import socket
import subprocess
import sys

import pytest
from safetensors.torch import load_file

# Two whole epochs of the demo split (404 train rows: 25 batches of 16, then one of 4,
# which splits evenly over 2 processes). Dropout 0: with dropout each process draws its
# own masks, so runs agree in distribution, not bit for bit.
COMMON = (
    "--model preset:tiny --data demo --epochs 2 --batch-size 16 --dropout 0 --no-progress "
    "--vocab-size 800 --lr 1e-3 --patience 0"
).split()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args, **kwargs):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _two_processes(*args) -> subprocess.CompletedProcess:
    """``lahan ARGS`` under torch.distributed.run, two CPU processes."""
    return _run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
         "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), "-m", "lahan", *args]
    )  # fmt: skip


def _max_difference(a_folder, b_folder) -> float:
    a = load_file(a_folder / "model.safetensors")
    b = load_file(b_folder / "model.safetensors")
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    _two_processes("finetune", *COMMON, "--out", str(ddp))
    # Reuse the tokenizer the two processes shared, so both runs see the same token ids.
    out = _run(
        [
            sys.executable,
            "-m",
            "lahan",
            "finetune",
            *COMMON,
            "--tokenizer",
            str(ddp),
            "--out",
            str(single),
        ]
    )
    assert "saved to" in out.stdout

    # Same batches, same averaged gradients: equal up to float rounding. Any difference
    # in the batches (a padded last batch, another order, half batches) moves most
    # weights by about lr = 1e-3 from the first step on.
    diff = _max_difference(ddp, single)
    assert diff < 1e-4, diff
    ddp_record = json.loads((ddp / "lahan.json").read_text())
    single_record = json.loads((single / "lahan.json").read_text())
    assert ddp_record["train"]["steps"] == single_record["train"]["steps"] == 52
    assert ddp_record["metrics"]["dev"]["accuracy"] == single_record["metrics"]["dev"]["accuracy"]


@pytest.mark.slow
def test_one_shot_scoring_under_two_processes_keeps_what_one_process_keeps(tmp_path):
    """--method taylor: each process scores its share of the scoring batches and the scores
    are summed across processes, so both keep the units one process keeps, and the small
    model then trains as it does in one process."""
    teacher = tmp_path / "teacher"
    _run([sys.executable, "-m", "lahan", "finetune", *COMMON, "--out", str(teacher)])
    compress = [
        "compress", "--teacher", str(teacher), "--data", "demo", "--prune", "0.5",
        "--granularity", "heads", "--method", "taylor", "--score-batches", "4",
        "--ffn-multiple", "1", "--epochs", "1", "--batch-size", "16", "--lr", "1e-3",
        "--patience", "0", "--no-progress",
    ]  # fmt: skip
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    _two_processes(*compress, "--out", str(ddp))
    _run([sys.executable, "-m", "lahan", *compress, "--out", str(single)])
    ddp_record = json.loads((ddp / "lahan.json").read_text())
    single_record = json.loads((single / "lahan.json").read_text())
    assert ddp_record["structure"] == single_record["structure"]
    kept = ddp_record["structure"]["heads_after"]
    assert 0 < kept < ddp_record["structure"]["heads_before"]
    # The same FFN neurons too. An epoch of AdamW steps at lr 1e-3 turns the processes'
    # different summation order into differences of about 1e-4 (Adam rescales near-zero
    # gradients); another kept neuron would differ by the weights' own scale (std 0.02).
    diff = _max_difference(ddp, single)
    assert diff < 1e-3, diff
