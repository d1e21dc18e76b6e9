"""The public Python API: `import lahan` is light, and every name it offers resolves."""

from __future__ import annotations

import importlib
import inspect
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
def test_every_public_name_is_what_it_names_even_after_every_module_is_imported(name):
    """A public name that equals a submodule's (lahan.evaluate, lahan.pretrain,
    lahan.sweep) would turn into that module once anything imports it."""
    import lahan.evaluate  # noqa: F401
    import lahan.pretrain  # noqa: F401
    import lahan.recipes.report  # noqa: F401
    import lahan.sweep.grid  # noqa: F401
    import lahan.train  # noqa: F401

    module, attribute = lahan._API[name]
    assert getattr(lahan, name) is getattr(importlib.import_module(module), attribute)
    assert not inspect.ismodule(getattr(lahan, name))


def test_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="no attribute 'run_compres'"):
        lahan.run_compres  # noqa: B018


def test_the_api_is_the_recipes_and_configs():
    from lahan.config import CompressConfig
    from lahan.recipes.compress import run_compress

    assert lahan.run_compress is run_compress and lahan.CompressConfig is CompressConfig
