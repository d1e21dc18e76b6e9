"""lahan: make transformer text classifiers for low-resource languages small and fast."""

import logging as _logging

# torchao (a dependency, which transformers imports when it is installed) logs its
# optional CUDA kernels failing to load, and torch warns about torchao's enums: noise on
# a CPU, at import time, whether lahan runs as the CLI or as a library. Only these two
# loggers are touched, and only below ERROR.
for _noisy in ("torchao", "torch.utils._pytree"):
    _logging.getLogger(_noisy).setLevel(_logging.ERROR)

__version__ = "0.1.0"
