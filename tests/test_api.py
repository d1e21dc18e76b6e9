"""The public Python API: `import lahan` is light, and every name it offers resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lahan


def test_import_lahan_loads_nothing_heavy():
    code = (
        "import sys, lahan\n"
        "lahan.TrainConfig(epochs=2)\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", [n for n in lahan.__all__ if n != "__version__"])
def test_every_public_name_resolves(name):
    value = getattr(lahan, name)
    assert value is not None
    assert name in dir(lahan)


def test_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="no attribute 'compres'"):
        lahan.compres  # noqa: B018


def test_the_api_is_the_recipes_and_configs():
    from lahan.config import CompressConfig
    from lahan.recipes.compress import run_compress

    assert lahan.compress is run_compress and lahan.CompressConfig is CompressConfig
