"""Pictures of what pruning kept: heads per layer (a grid) and FFN neurons per layer (bars)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lahan.io import save_figure


def plot_structure(structure: dict, path: Path, title: str) -> Path:
    """Left: layers x heads, dark = kept. Right: kept FFN neurons per layer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    layers = structure["layers"]
    heads = max(layer["heads"] for layer in layers) or 1
    grid = np.zeros((len(layers), heads))
    for i, layer in enumerate(layers):
        grid[i, layer["kept_heads"]] = 1.0
    fig = Figure(figsize=(9, 0.45 * len(layers) + 2))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [heads, 8]})
    left.imshow(grid, cmap="Greens", vmin=0, vmax=1, aspect="auto")
    left.set_xlabel("head")
    left.set_ylabel("layer")
    left.set_yticks(range(len(layers)))
    left.set_title(f"heads kept: {structure['heads_after']}/{structure['heads_before']}")
    kept_patch = Patch(color="#00441b", label="head kept")
    removed_patch = Patch(facecolor="#f7fcf5", edgecolor="#999999", label="head removed")
    kept = [layer["kept_ffn"] for layer in layers]
    full = [layer["ffn"] for layer in layers]
    right.barh(range(len(layers)), full, color="#dddddd", label="before")
    right.barh(range(len(layers)), kept, color="#2e7d32", label="kept")
    right.invert_yaxis()
    right.set_yticks(range(len(layers)))
    right.set_xlabel("FFN neurons")
    right.set_title(f"FFN kept: {structure['ffn_after']}/{structure['ffn_before']}")
    right.legend(loc="lower right", fontsize=8)
    fig.legend(handles=[kept_patch, removed_patch], loc="lower left", ncol=2, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05, 1, 1))  # room for the heads legend below
    return save_figure(fig, path, dpi=110)
