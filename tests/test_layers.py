"""The import graph: no module imports a module above its layer.

    commands (the CLI)  ->  recipes (runnable jobs)  ->  library  ->  data  ->  core

and the library in three sublayers:

    methods (prune, distill, deploy, measure, sweep, ...)  ->  training  ->  modeling

A command parses options and calls a recipe; a recipe strings library steps together
and writes a run's files; the library does one job per module: modeling (model folders
and the pruned model classes) knows nothing of training, training (the loop, its
checkpoints, evaluation, MLM pretraining) nothing of the methods built on it; the core
(errors, config, io, arch, ...) imports nothing else of lahan. Imports inside functions
count too: a lazy import still makes a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lahan

PACKAGE = Path(lahan.__file__).parent

CORE = {
    "lahan.arch",
    "lahan.config",
    "lahan.errors",
    "lahan.hub",
    "lahan.io",
    "lahan.precision",
    "lahan.progress",
    "lahan.records",
    "lahan.threads",
    "lahan.versions",
    "lahan.wordpiece",
}
MODELING = {"lahan.models", "lahan.pruned_models"}
TRAINING = {
    "lahan.train",
    "lahan.batches",
    "lahan.stop",
    "lahan.checkpoint",
    "lahan.evaluate",
    "lahan.pretrain",
}
LAYERS = ("core", "data", "modeling", "training", "methods", "recipes", "commands")


def layer_of(module: str) -> str:
    if module in CORE:
        return "core"
    if module in ("lahan.cli", "lahan.__main__") or module.startswith("lahan.commands"):
        return "commands"
    if module.startswith("lahan.recipes"):
        return "recipes"
    if module == "lahan.data" or module.startswith("lahan.data."):
        return "data"
    if module in MODELING:
        return "modeling"
    if module in TRAINING:
        return "training"
    return "methods"  # the rest of the library: prune/, distill/, deploy/, measure/, ...


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(module, line) for every lahan import in ``path``, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "lahan":
                # `from lahan import __version__` reads the package's version string;
                # `from lahan import x` of a submodule imports that submodule
                for alias in node.names:
                    if alias.name != "__version__":
                        found.append((f"lahan.{alias.name}", node.lineno))
            elif node.module.startswith("lahan."):
                found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("lahan.")]
    return found


def violations() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        if source == "lahan":  # the public API: lazy names from every layer, by design
            continue
        for target, line in imports_of(path):
            if LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(source)):
                out.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {source} ({layer_of(source)}) "
                    f"imports {target} ({layer_of(target)})"
                )
    return out


def test_no_module_imports_a_module_above_its_layer():
    assert violations() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The check itself can fail: a library module importing a recipe is reported."""
    fake = tmp_path / "lahan"
    (fake / "recipes").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "recipes" / "__init__.py").write_text("")
    (fake / "recipes" / "job.py").write_text("from lahan.models import load_model\n")
    (fake / "models.py").write_text("def f():\n    from lahan.recipes.job import run\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    assert violations() == ["lahan/models.py:2: lahan.models (modeling) imports "
                            "lahan.recipes.job (recipes)"]  # fmt: skip


def test_the_check_sees_modeling_import_pruning(tmp_path, monkeypatch):
    """Within the library: modeling importing a method (as models.py once imported
    lahan.prune to register the pruned classes) is reported."""
    fake = tmp_path / "lahan"
    (fake / "prune").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "prune" / "__init__.py").write_text("from lahan.train import train\n")
    (fake / "train.py").write_text("from lahan.models import load_model\n")
    (fake / "models.py").write_text("import lahan.prune\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    assert violations() == ["lahan/models.py:1: lahan.models (modeling) imports "
                            "lahan.prune (methods)"]  # fmt: skip


def test_every_library_module_has_a_sublayer():
    """A module named in MODELING or TRAINING that moved or was renamed would silently
    become a method: every name listed must exist."""
    listed = MODELING | TRAINING
    found = {module_name(p) for p in PACKAGE.rglob("*.py")}
    assert listed <= found, sorted(listed - found)


@pytest.mark.parametrize("module", sorted(CORE))
def test_core_modules_import_no_other_layer(module):
    path = PACKAGE / (module.removeprefix("lahan.").replace(".", "/") + ".py")
    above = [t for t, _ in imports_of(path) if layer_of(t) != "core"]
    assert above == [], f"{module} imports {above}"


def config_names() -> set[str]:
    """The public names lahan/config.py defines (classes, functions, constants)."""
    tree = ast.parse((PACKAGE / "config.py").read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


def test_every_config_name_is_imported_from_lahan_config_only():
    """One import path per name: a config class or constant comes from lahan.config (or
    the public API, ``lahan.X``), never through a module that happens to import it."""
    names, found = config_names(), []
    roots = [PACKAGE, PACKAGE.parents[1] / "tests", PACKAGE.parents[1] / "bench"]
    for path in sorted(p for root in roots for p in root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").startswith("lahan.")
                and node.module != "lahan.config"
            ):
                found += [f"{path.name}:{node.lineno}: {node.module}.{a.name}"
                          for a in node.names if a.name in names]  # fmt: skip
    assert "PruneConfig" in names and "METHOD_TRAIN_DEFAULTS" in names  # the check sees them
    assert found == []
