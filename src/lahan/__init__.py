"""lahan: make transformer text classifiers for low-resource languages small and fast.

The Python API is the same jobs as the command line, with the same options and defaults
(``lahan.config``)::

    import lahan

    data = lahan.DataConfig(source="news.csv")
    lahan.run_finetune(lahan.FinetuneConfig(lahan.ModelConfig("preset:small"), data, "runs/t"))
    lahan.run_compress(lahan.CompressConfig(teacher="runs/t", data=data, out="runs/p25",
                                            prune=lahan.PruneConfig(sparsity=0.25)))
    report = lahan.run_evaluate(lahan.EvaluateConfig("runs/p25", data, split="test"))

Names are imported when first used: ``import lahan`` itself loads neither PyTorch nor
transformers.
"""

import importlib as _importlib
import logging as _logging
import warnings as _warnings

# torchao (a dependency, which transformers imports when it is installed) logs its
# optional CUDA kernels failing to load, torch warns about torchao's enums, and torch's
# ONNX exporter logs that torchvision (which lahan does not use) is absent: noise on a
# CPU, whether lahan runs as the CLI or as a library. Only these loggers are touched, and
# only below ERROR; and only the one deprecation torch's own pytree code triggers while
# exporting is silenced.
for _noisy in ("torchao", "torch.utils._pytree", "torch.onnx._internal.exporter._registration"):
    _logging.getLogger(_noisy).setLevel(_logging.ERROR)
_warnings.filterwarnings(
    "ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning
)

__version__ = "0.1.0"

# public name -> (module, attribute)
_API = {
    # options: every default in one place
    **{
        name: ("lahan.config", name)
        for name in (
            "BenchConfig",
            "CompressConfig",
            "DataConfig",
            "DistillConfig",
            "EvaluateConfig",
            "ExportConfig",
            "FinetuneConfig",
            "ModelConfig",
            "PretrainConfig",
            "PruneConfig",
            "ReportConfig",
            "ServeConfig",
            "SweepConfig",
            "TrainConfig",
            "TrimConfig",
        )
    },
    "train_defaults": ("lahan.config", "train_defaults"),
    "METHOD_TRAIN_DEFAULTS": ("lahan.config", "METHOD_TRAIN_DEFAULTS"),
    "ConfigError": ("lahan.config", "ConfigError"),
    "LahanError": ("lahan.errors", "LahanError"),
    "OptionError": ("lahan.errors", "OptionError"),
    # what runs write and read back (lahan.json, result.json, bench, results.jsonl)
    **{
        name: ("lahan.records", name)
        for name in (
            "ModelRecord",
            "CompressResult",
            "EvaluateReport",
            "BenchReport",
            "BenchMeasurement",
            "SweepRow",
        )
    },
    # data
    "load_dataset": ("lahan.data", "load_dataset"),
    "audit_dataset": ("lahan.data", "audit_dataset"),
    # jobs: each writes a folder (model, record, report) and returns its record. The
    # names are the recipes' own: `lahan.evaluate`, `lahan.pretrain` and `lahan.sweep`
    # are modules, which Python sets on the package once imported.
    "run_pretrain": ("lahan.recipes.pretrain", "run_pretrain"),
    "run_finetune": ("lahan.recipes.finetune", "run_finetune"),
    "run_compress": ("lahan.recipes.compress", "run_compress"),
    "run_evaluate": ("lahan.recipes.evaluate", "run_evaluate"),
    "run_export": ("lahan.recipes.export", "run_export"),
    "run_bench": ("lahan.recipes.bench", "run_bench"),
    "run_sweep": ("lahan.recipes.sweep", "run_sweep"),
    "write_report": ("lahan.recipes.report", "write_report"),
    # using a model
    "load_model": ("lahan.models", "load_model"),
    "load_predictor": ("lahan.deploy.predictor", "load_predictor"),
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str):
    try:
        module, attribute = _API[name]
    except KeyError:
        raise AttributeError(f"module 'lahan' has no attribute '{name}'") from None
    value = getattr(_importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
