"""Block movement pruning (Lagunas et al. 2021) as a plug-in of the one training loop.

Every encoder Linear weight gets a mask computed from learned *scores*, one score
per unit: a block of the attention matrices (``hybrid``, default 32x32) or a whole
attention head (``heads``), and an FFN neuron (row i of the intermediate layer
together with column i of the output layer). The masked weight is W * expand(mask).

Scores learn by movement: the mask's gradient is passed straight through to the
scores (straight-through estimator), so a score's gradient is the sum over its
unit of (dL/dW' * W): weights moving away from zero gain score, weights moving
towards zero lose it.

Masks:
  * ``hard``: global top-k per unit kind (all attention units of all layers ranked
    together, all FFN neurons together), keeping exactly the scheduled fraction, so
    layers end up with different numbers of heads and neurons;
  * ``soft`` (as nn_pruning's sigmoid threshold): keep units whose sigmoid(score)
    exceeds 0.5, with an L1 penalty on sigmoid(scores) that grows with the schedule;
    the sparsity it reaches is whatever the penalty buys, and is always reported.

The schedule is cubic (Zhu & Gupta 2017): sparsity 0 during warm-up, then rising to
the target, then held during cool-down. Masks are applied with
``torch.nn.utils.parametrize``, so the model keeps its own classes and forward pass
(mixed precision and distillation compose); ``bake`` writes the final masks into the
weights (exact zeros) and removes the parametrizations, ready for shrinking.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from lahan.arch import prunable_layers
from lahan.config import PruneConfig
from lahan.errors import OptionError


def cubic_sparsity(step: int, total: int, config: PruneConfig) -> float:
    """Scheduled sparsity at ``step`` of ``total`` optimizer steps."""
    start = config.warmup * total
    end = (1.0 - config.cooldown) * total
    if step <= start:
        return 0.0
    if step >= end:
        return config.sparsity
    progress = (step - start) / (end - start)
    return config.sparsity * (1.0 - (1.0 - progress) ** 3)


class Scores(nn.Module):
    """Learned scores of one group of units, with the current binary mask as a buffer."""

    def __init__(self, shape: tuple[int, ...], kind: str, method: str):
        super().__init__()
        init = 3.0 if method == "soft" else 0.0  # soft: sigmoid(3) = 0.95, everything kept
        self.scores = nn.Parameter(torch.full(shape, init))
        self.register_buffer("mask", torch.ones(shape))
        self.kind = kind  # "attention" or "ffn": units of one kind are ranked together
        self.method = method

    def straight_through(self) -> torch.Tensor:
        """The mask in value, the identity (or sigmoid') for the scores' gradient."""
        # hard (and taylor): d mask / d score = 1, so a score's gradient is the loss's
        # gradient with respect to the unit's mask
        s = torch.sigmoid(self.scores) if self.method == "soft" else self.scores
        return self.mask + (s - s.detach())  # (s - s.detach()) is exactly 0 in value


class MaskedWeight(nn.Module):
    """Parametrization weight -> weight * expand(mask) for one Linear layer."""

    def __init__(self, scores: Scores, expand: str, size: int | tuple[int, int]):
        super().__init__()
        self.unit_scores = scores
        self.expand = expand  # "rows": unit per output row group; "cols": input cols; "blocks"
        self.size = size

    def unit_mask(self) -> torch.Tensor:
        m = self.unit_scores.straight_through()
        if self.expand == "rows":
            return m.repeat_interleave(self.size, 0)[:, None]
        if self.expand == "cols":
            return m.repeat_interleave(self.size, 0)[None, :]
        rows, cols = self.size
        return m.repeat_interleave(rows, 0).repeat_interleave(cols, 1)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.unit_mask().to(weight.dtype)


class MovementPruning:
    """The training-loop plug-in: installs masks, schedules them, reports sparsity."""

    def __init__(self, model: nn.Module, config: PruneConfig):
        self.config = config
        self.model = model
        self.layers = prunable_layers(model)
        self.scores: list[Scores] = []
        self.sparsity_now = 0.0
        if config.sparsity > 0:
            self._install()

    # ------------------------------------------------------------------ install
    def _install(self) -> None:
        for layer in self.layers:
            # Per layer: an already-pruned model has different head counts per layer.
            heads, size = layer.num_heads, layer.head_size
            if self.config.granularity == "heads":
                head = self._new_scores((heads,), "attention")
                for linear in (layer.q, layer.k, layer.v):
                    self._mask(linear, MaskedWeight(head, "rows", size))
                self._mask(layer.o, MaskedWeight(head, "cols", size))
            else:
                rows, cols = self.config.block
                for name in ("q", "k", "v", "o"):
                    linear = getattr(layer, name)
                    out_f, in_f = linear.weight.shape
                    if out_f % rows or in_f % cols:
                        raise OptionError(
                            "block",
                            f" {rows}x{cols} does not divide the {out_f}x{in_f} "
                            f"attention matrices: choose a block size that divides them",
                        )
                    blocks = self._new_scores((out_f // rows, in_f // cols), "attention")
                    self._mask(linear, MaskedWeight(blocks, "blocks", (rows, cols)))
            neurons = self._new_scores((layer.ffn_in.weight.shape[0],), "ffn")
            self._mask(layer.ffn_in, MaskedWeight(neurons, "rows", 1))
            self._mask(layer.ffn_out, MaskedWeight(neurons, "cols", 1))

    def _new_scores(self, shape: tuple[int, ...], kind: str) -> Scores:
        scores = Scores(shape, kind, self.config.method).to(self._device())
        self.scores.append(scores)
        return scores

    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    @staticmethod
    def _mask(linear: nn.Linear, parametrization: MaskedWeight) -> None:
        parametrize.register_parametrization(linear, "weight", parametrization)

    # ------------------------------------------------------------------ plug-in API
    def param_groups(self) -> list[dict]:
        params = [s.scores for s in self.scores]
        return (
            [{"params": params, "lr": self.config.score_lr, "weight_decay": 0.0}] if params else []
        )

    def on_step(self, step: int, total_steps: int) -> None:
        if not self.scores:
            return
        self.sparsity_now = cubic_sparsity(step, total_steps, self.config)
        self.set_masks(self.sparsity_now)

    def regularizer(self) -> torch.Tensor | None:
        if self.config.method != "soft" or not self.scores or self.config.l1 == 0:
            return None
        # The penalty grows with the schedule, so warm-up learns scores freely.
        ramp = self.sparsity_now / self.config.sparsity if self.config.sparsity else 0.0
        total = sum(torch.sigmoid(s.scores).sum() for s in self.scores)
        count = sum(s.scores.numel() for s in self.scores)
        return self.config.l1 * ramp * total / count

    def selectable(self, step: int, total_steps: int) -> bool:
        """Only epochs evaluated at the final sparsity may be kept as the best."""
        return cubic_sparsity(step, total_steps, self.config) == self.config.sparsity

    # ------------------------------------------------------------------ masks
    @torch.no_grad()
    def set_masks(self, sparsity: float) -> None:
        """Masks from the current scores: soft keeps sigmoid(score) > 0.5; hard and
        taylor keep the top (1 - sparsity) of each unit kind, ranked across all layers
        (allocation global) or within each layer (uniform, at least one unit a layer; with
        hybrid, within each attention matrix)."""
        if self.config.method == "soft":
            for s in self.scores:
                s.mask.copy_((torch.sigmoid(s.scores) > 0.5).float())
            return
        for kind in ("attention", "ffn"):
            group = [s for s in self.scores if s.kind == kind]
            if self.config.allocation == "global":
                self._keep_top(group, sparsity, at_least=0)
            else:
                for s in group:
                    self._keep_top([s], sparsity, at_least=1)

    def _keep_top(self, ranked: list, sparsity: float, at_least: int) -> None:
        """Keep the best-scored (1 - sparsity) of the units of ``ranked`` (ranked together)."""
        flat = torch.cat([s.scores.flatten() for s in ranked])
        keep = max(at_least, flat.numel() - round(sparsity * flat.numel()))
        mask = torch.zeros_like(flat)
        mask[torch.topk(flat, keep, sorted=False).indices] = 1.0
        start = 0
        for s in ranked:
            n = s.scores.numel()
            layer_mask = mask[start : start + n].view_as(s.mask)
            if s.kind == "ffn" and self.config.ffn_multiple > 1:
                layer_mask = _round_kept(s.scores, layer_mask, self.config.ffn_multiple)
            s.mask.copy_(layer_mask)
            start += n

    @torch.no_grad()
    def bake(self) -> None:
        """Write the current masks into the weights (exact zeros) and remove the masking.

        The mask buffers are those the chosen epoch was evaluated with (they are saved
        and restored with the best weights), so nothing is recomputed here.
        """
        for layer in self.layers:
            for name in ("q", "k", "v", "o", "ffn_in", "ffn_out"):
                linear = getattr(layer, name)
                if parametrize.is_parametrized(linear, "weight"):
                    parametrize.remove_parametrizations(linear, "weight", leave_parametrized=True)
        self.scores = []

    # ------------------------------------------------------------------ report
    @torch.no_grad()
    def sparsity_report(self) -> dict:
        """Achieved sparsity per layer and in total, read off the (masked) weights."""
        rows, total_zero, total = [], 0, 0
        for i, layer in enumerate(self.layers):
            size = layer.head_size
            w = {n: getattr(layer, n).weight for n in ("q", "k", "v", "o", "ffn_in", "ffn_out")}
            zero = {n: int((t == 0).sum()) for n, t in w.items()}
            count = {n: t.numel() for n, t in w.items()}
            v_rows_dead = (w["v"] == 0).all(dim=1).view(-1, size).all(dim=1)
            o_cols_dead = (w["o"] == 0).all(dim=0).view(-1, size).all(dim=1)
            ffn_dead = (w["ffn_in"] == 0).all(dim=1) | (w["ffn_out"] == 0).all(dim=0)
            attn = ("q", "k", "v", "o")
            rows.append(
                {
                    "layer": i,
                    "attention_sparsity": _fraction(
                        sum(zero[n] for n in attn), sum(count[n] for n in attn)
                    ),
                    "ffn_sparsity": _fraction(
                        zero["ffn_in"] + zero["ffn_out"], count["ffn_in"] + count["ffn_out"]
                    ),
                    "heads_kept": int((~(v_rows_dead | o_cols_dead)).sum()),
                    "heads_total": int(v_rows_dead.numel()),
                    "ffn_kept": int((~ffn_dead).sum()),
                    "ffn_total": int(ffn_dead.numel()),
                }
            )
            total_zero += sum(zero.values())
            total += sum(count.values())
        return {
            "method": self.config.method,
            "allocation": self.config.allocation,
            "target": self.config.sparsity,
            "achieved": total_zero / total if total else 0.0,
            "encoder_linear_weights": total,
            "layers": rows,
        }


def _round_kept(scores: torch.Tensor, mask: torch.Tensor, multiple: int) -> torch.Tensor:
    """``mask`` with its kept count moved to the nearest multiple of ``multiple`` (never
    above the layer's size): the best-scored units of the layer are the ones kept. A
    layer the global top-k emptied stays empty."""
    kept, size = int(mask.sum()), mask.numel()
    if kept == 0:
        return mask
    target = min(size, max(multiple, round(kept / multiple) * multiple))
    if target == kept:
        return mask
    rounded = torch.zeros_like(mask)
    rounded[torch.topk(scores.flatten(), target, sorted=False).indices] = 1.0
    return rounded.view_as(mask)


def describe(report: dict) -> str:
    """A per-layer table of what pruning kept."""
    lines = [f"{'layer':>5} {'attn sparsity':>14} {'ffn sparsity':>13} {'heads':>7} {'ffn':>11}"]
    for r in report["layers"]:
        lines.append(
            f"{r['layer']:>5} {r['attention_sparsity']:>14.3f} {r['ffn_sparsity']:>13.3f} "
            f"{r['heads_kept']:>3}/{r['heads_total']:<3} {r['ffn_kept']:>5}/{r['ffn_total']:<5}"
        )
    lines.append(f"total sparsity {report['achieved']:.4f} (target {report['target']:.2f})")
    return "\n".join(lines)


def _fraction(part: int, whole: int) -> float:
    """part / whole, with an empty layer (no heads or no neurons left) counted as pruned."""
    return part / whole if whole else 1.0
