"""The one version collector: what every record, manifest and benchmark stores.

Versions are read from the installed packages' metadata, so collecting them imports
nothing (no PyTorch start-up just to say which PyTorch it is).
"""

from __future__ import annotations

import platform
from importlib import metadata

# The libraries a lahan figure depends on; the ones not installed are left out.
LIBRARIES = (
    "torch",
    "transformers",
    "tokenizers",
    "accelerate",
    "safetensors",
    "onnx",
    "onnxruntime",
    "scikit-learn",
    "codecarbon",
)


# A library published under several distribution names (the same import name).
DISTRIBUTIONS = {
    "onnxruntime": (
        "onnxruntime",
        "onnxruntime-gpu",
        "onnxruntime-openvino",
        "onnxruntime-directml",
        "onnxruntime-silicon",
    ),
}


def library_versions(*extra: str) -> dict[str, str]:
    """{"lahan": ..., "python": ..., "torch": ..., ...} for LIBRARIES and ``extra``."""
    from lahan import __version__

    versions = {"lahan": __version__, "python": platform.python_version()}
    for name in (*LIBRARIES, *extra):
        for distribution in DISTRIBUTIONS.get(name, (name,)):
            try:
                versions[name] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions
