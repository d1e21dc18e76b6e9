"""How a precision variant compares with fp32 on the same texts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lahan.evaluate import compute_metrics


def variant_report(
    y_true: Sequence[int], reference_logits: np.ndarray, logits: np.ndarray, num_labels: int
) -> dict:
    """Accuracy and macro-F1 of ``logits``, their deltas vs the fp32 reference, agreement."""
    labels = list(range(num_labels))
    ref = compute_metrics(list(y_true), reference_logits.argmax(-1).tolist(), labels)
    got = compute_metrics(list(y_true), logits.argmax(-1).tolist(), labels)
    agreement = float((reference_logits.argmax(-1) == logits.argmax(-1)).mean())
    return {
        "accuracy": got["accuracy"],
        "macro_f1": got["macro_f1"],
        "delta_accuracy_vs_fp32": got["accuracy"] - ref["accuracy"],
        "delta_macro_f1_vs_fp32": got["macro_f1"] - ref["macro_f1"],
        "agreement_with_fp32": agreement,
        "max_abs_logit_diff": float(np.abs(reference_logits - logits).max()) if len(y_true) else 0,
        "n": len(y_true),
    }
