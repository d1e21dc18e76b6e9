"""ONNX export: logits match torch (pruned models too), and the folder runs without torch."""

import csv
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lahan.cli import main
from lahan.config import ExportConfig
from lahan.deploy.export import export_onnx
from lahan.deploy.predictor import OnnxPredictor, TorchPredictor
from lahan.errors import LahanError
from lahan.models import load_model

TEXTS = ["भारताने सामना जिंकला", "राज्य सरकारने शेतकऱ्यांसाठी नवीन योजना जाहीर केली", "x"] * 5


@pytest.mark.parametrize("which", ["trained", "pruned"])
def test_onnx_logits_match_torch(trained_tiny, pruned_tiny, tmp_path, which):
    source = trained_tiny[0] if which == "trained" else pruned_tiny
    if which == "pruned":  # the point of this case: layers with different head counts
        model, _, _ = load_model(source)
        assert len(set(model.config.layer_heads)) > 1 or min(model.config.layer_heads) < 2
    manifest = export_onnx(source, tmp_path / "onnx", ExportConfig())
    assert manifest["check"]["max_abs_logit_diff"] < 1e-4
    torch_logits = TorchPredictor(source).logits(TEXTS, batch_size=4)
    onnx_logits = OnnxPredictor(tmp_path / "onnx").logits(TEXTS, batch_size=7)
    assert np.allclose(torch_logits, onnx_logits, atol=1e-4)


def test_int8_export_agrees_and_records_dev_deltas(trained_tiny, demo_csv, tmp_path, capsys):
    out = tmp_path / "int8"
    rc = main(
        [
            "export",
            "--model",
            str(trained_tiny[0]),
            "--quantize",
            "int8",
            "--data",
            str(demo_csv),
            "--data-seed",
            "0",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    manifest = json.loads((out / "lahan-onnx.json").read_text())
    assert manifest["model_file"] == "model.int8.onnx" and not (out / "model.onnx").exists()
    variant = manifest["variants"]["onnx_int8"]
    # the manifest's dev split has 50 texts (one flip = 2 points); the >= 98% agreement
    # is checked on all 504 demo texts below
    assert variant["agreement_with_fp32"] >= 0.96
    assert abs(variant["delta_accuracy_vs_fp32"]) <= 0.04
    texts = [row[0] for row in csv.reader(demo_csv.read_text(encoding="utf-8").splitlines())][1:]
    int8 = OnnxPredictor(out).logits(texts).argmax(-1)
    fp32 = TorchPredictor(trained_tiny[0]).logits(texts).argmax(-1)
    assert (int8 == fp32).mean() >= 0.98
    assert manifest["variants"]["torch_fp32"]["agreement_with_fp32"] == 1.0
    assert "dev onnx_int8" in capsys.readouterr().out


def test_exported_folder_runs_without_torch_or_lahan(trained_tiny, tmp_path):
    out = tmp_path / "onnx"
    export_onnx(trained_tiny[0], out, ExportConfig())
    (tmp_path / "in.txt").write_text("\n".join([*TEXTS[:3], ""]) + "\n", encoding="utf-8")
    # Importing torch, transformers or lahan fails in this interpreter.
    blocker = textwrap.dedent(
        """
        import sys, runpy
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "transformers", "lahan"):
                    raise ImportError(f"{name} is blocked in this test")
        sys.meta_path.insert(0, Block())
        sys.argv = [sys.argv[1], "--input", sys.argv[2]]
        runpy.run_path(sys.argv[0], run_name="__main__")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", blocker, str(out / "predict.py"), str(tmp_path / "in.txt")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["text"] for r in rows] == [*TEXTS[:3], ""]
    assert rows[-1]["label"] is None and rows[-1]["error"] == "empty text"
    expected = TorchPredictor(trained_tiny[0]).logits(TEXTS[:3]).argmax(-1)
    labels = json.loads((out / "lahan-onnx.json").read_text())["labels"]
    assert [r["label"] for r in rows[:3]] == [labels[i] for i in expected]


def test_bad_export_options():
    with pytest.raises(LahanError, match="ExportConfig.quantize must be one of int8"):
        ExportConfig(quantize="int4")
    with pytest.raises(LahanError, match="ExportConfig.format must be one of onnx"):
        ExportConfig(format="tflite")
    with pytest.raises(LahanError, match="ExportConfig.per_channel is read only by int8"):
        ExportConfig(per_channel=True)


def test_per_channel_int8_scales_each_output_channel(trained_tiny, demo_csv, tmp_path):
    """--per-channel gives each weight matrix one scale per output column: the graph holds
    a scale vector where per-tensor int8 holds a single number, and it still agrees."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    def scales(folder):
        graph = onnx.load(str(folder / "model.int8.onnx")).graph
        # dynamic int8: activation scales are computed at run time, so every scale
        # stored in the graph is a weight's
        return [
            numpy_helper.to_array(init).size
            for init in graph.initializer
            if init.name.endswith("_scale")
        ]

    export_onnx(trained_tiny[0], tmp_path / "tensor", ExportConfig(quantize="int8"))
    export_onnx(
        trained_tiny[0], tmp_path / "channel", ExportConfig(quantize="int8", per_channel=True)
    )
    per_tensor, per_channel = scales(tmp_path / "tensor"), scales(tmp_path / "channel")
    assert per_tensor and max(per_tensor) == 1
    assert per_channel and max(per_channel) > 1
    manifest = json.loads((tmp_path / "channel" / "lahan-onnx.json").read_text())
    assert manifest["config"]["per_channel"] is True
    texts = [row[0] for row in csv.reader(demo_csv.read_text(encoding="utf-8").splitlines())][1:]
    int8 = OnnxPredictor(tmp_path / "channel").logits(texts).argmax(-1)
    fp32 = TorchPredictor(trained_tiny[0]).logits(texts).argmax(-1)
    assert np.mean(int8 == fp32) >= 0.98


def test_max_length_beyond_the_position_table_is_refused(trained_tiny, tmp_path):
    with pytest.raises(LahanError, match="longer than the model's"):
        export_onnx(trained_tiny[0], tmp_path / "o", ExportConfig(max_length=4096))
    assert not (tmp_path / "o").exists()
