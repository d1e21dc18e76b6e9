"""Export a classifier to ONNX (fp32 or int8), checked against torch.

The export itself is ``lahan.deploy.export.export_onnx``; this job adds what a user's
run needs around it: the output folder checked first, and with data, the dev split
scored by both so the manifest says how much int8 changed (accuracy, agreement).
"""

from __future__ import annotations

from pathlib import Path

from lahan.config import DataConfig, ExportConfig
from lahan.data import load_dataset
from lahan.deploy.export import export_onnx
from lahan.deploy.onnx_runtime import MANIFEST
from lahan.io import check_output_folder
from lahan.models import label_ids, load_model, model_labels, resolve_label_map


def run_export(
    model: str,
    out: str | Path,
    config: ExportConfig,
    data: DataConfig | None = None,
    relabel: bool = False,
) -> dict:
    """Export ``model`` into ``out``; returns the manifest written there."""
    out = Path(out)
    check_output_folder(out, marker=MANIFEST)
    dev = None
    if data is not None:
        torch_model, _, _ = load_model(model, config.labels)
        dataset = load_dataset(data)
        names = model_labels(torch_model)
        label_map = resolve_label_map(names, dataset.labels, relabel)
        rows = dataset.split("dev")
        dev = ([r.text for r in rows], label_ids(rows, names, label_map))
        del torch_model  # the export loads its own copy
    return export_onnx(model, out, config, dev)
