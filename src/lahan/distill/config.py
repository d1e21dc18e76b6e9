"""Every distillation option and its default, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lahan.errors import LahanError

CACHE_ENV = "LAHAN_CACHE_DIR"


def default_cache_dir() -> Path:
    """Where teacher outputs are cached: $LAHAN_CACHE_DIR, else ~/.cache/lahan."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "lahan")


@dataclass
class DistillConfig:
    """Knowledge distillation: soft targets (Hinton et al. 2015) plus optional extras.

    loss = alpha * CE(student, labels)
         + (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student / T))
         + hidden_weight * MSE(hidden states of mapped layers)       (off by default)
         + attention_weight * KL(attention maps of mapped layers)    (off by default)

    T = 2 with 0.9 soft / 0.1 hard (alpha = 0.1) are the usual literature defaults.
    The T^2 factor keeps the soft term's gradients on the hard term's scale.
    """

    temperature: float = 2.0
    alpha: float = 0.1  # weight of the hard-label cross-entropy; the soft term gets 1 - alpha
    hidden_weight: float = 0.0
    attention_weight: float = 0.0
    cache: bool = True  # compute the teacher's outputs once and reuse them
    cache_dir: str | None = None  # None: default_cache_dir()

    def __post_init__(self) -> None:
        checks = [
            (
                self.temperature > 0 and self.temperature <= 100,
                f"--temperature must be in (0, 100], got {self.temperature}",
            ),
            (0 <= self.alpha <= 1, f"--alpha must be in [0, 1], got {self.alpha}"),
            (self.hidden_weight >= 0, f"--hidden-weight must be >= 0, got {self.hidden_weight}"),
            (
                self.attention_weight >= 0,
                f"--attention-weight must be >= 0, got {self.attention_weight}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise LahanError(message)

    @property
    def uses_hidden(self) -> bool:
        return self.hidden_weight > 0

    @property
    def uses_attention(self) -> bool:
        return self.attention_weight > 0

    def resolved_cache_dir(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else default_cache_dir()
