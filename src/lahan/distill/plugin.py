"""``Distiller``: the distillation loss for the one training loop, and its plug-in half.

The loop calls ``distiller(outputs, batch)`` as its loss. The teacher's side comes
either from the cache (``TeacherOutputs``, looked up by ``batch["example_index"]``)
or from running the teacher on the same batch (live; needed for attention maps,
and the baseline the cache's time saving is measured against). Widths that differ
get a learned linear projection, trained with the student; ``param_groups`` hands
those to the optimizer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from lahan.batches import NOT_MODEL_INPUTS
from lahan.config import DistillConfig
from lahan.distill.cache import TeacherOutputs
from lahan.distill.loss import attention_map_loss, hidden_state_loss, kd_loss


class Distiller:
    def __init__(
        self,
        config: DistillConfig,
        *,
        layer_map: list[tuple[int, int]],
        student_width: int,
        teacher_width: int,
        cached: TeacherOutputs | None = None,
        teacher: PreTrainedModel | None = None,
        label_order: list[int] | None = None,
        autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
        device: torch.device | str = "cpu",
    ):
        if (cached is None) == (teacher is None):
            raise ValueError("give exactly one of cached outputs or a live teacher")
        self.config = config
        self.layer_map = layer_map if (config.uses_hidden or config.uses_attention) else []
        self.cached = cached
        self.teacher = teacher
        self.label_order = torch.tensor(label_order) if label_order is not None else None
        self.autocast = autocast
        self.device = torch.device(device)
        self.projections = nn.ModuleList()
        if config.uses_hidden:
            for _ in self.layer_map:
                # A learned map from the student's width to the teacher's (TinyBERT's W_h).
                proj = (
                    nn.Linear(student_width, teacher_width)
                    if student_width != teacher_width
                    else nn.Identity()
                )
                self.projections.append(proj)
            self.projections.to(self.device)
        kwargs = {}
        if config.uses_hidden:
            kwargs["output_hidden_states"] = True
        if config.uses_attention:
            kwargs["output_attentions"] = True
        self.model_kwargs = kwargs  # the loop passes these to the student's forward

    # ------------------------------------------------------------ TrainPlugin
    def param_groups(self) -> list[dict]:
        params = list(self.projections.parameters())
        return [{"params": params}] if params else []

    def on_step(self, step: int, total_steps: int) -> None:
        return None

    def regularizer(self) -> torch.Tensor | None:
        return None

    def selectable(self, step: int, total_steps: int) -> bool:
        return True

    # ------------------------------------------------------------ the loss
    def _teacher_side(self, batch: dict) -> tuple[torch.Tensor, list, list]:
        """Teacher logits, mapped hidden states and mapped attention maps for ``batch``."""
        teacher_layers = [t for _, t in self.layer_map]
        if self.cached is not None:
            indices = batch["example_index"]
            logits = self.cached.batch_logits(indices).to(self.device)
            hidden = []
            if self.config.uses_hidden:
                seq_len = batch["input_ids"].shape[1]
                by_layer = dict(
                    zip(
                        self.cached.hidden_layers,
                        self.cached.batch_hidden(indices, seq_len),
                        strict=True,
                    )
                )
                hidden = [by_layer[t].to(self.device) for t in teacher_layers]
            return logits, hidden, []
        inputs = {k: v for k, v in batch.items() if k not in NOT_MODEL_INPUTS}
        with torch.no_grad(), self.autocast():
            out = self.teacher(**inputs, **self.model_kwargs)
        hidden = [out.hidden_states[t] for t in teacher_layers] if self.config.uses_hidden else []
        # attentions[i] is layer i's map, i.e. hidden_states[i + 1]'s.
        attentions = (
            [out.attentions[t - 1] for t in teacher_layers] if self.config.uses_attention else []
        )
        return out.logits, hidden, attentions

    def __call__(self, outputs: ModelOutput, batch: dict) -> torch.Tensor:
        cfg = self.config
        teacher_logits, teacher_hidden, teacher_attn = self._teacher_side(batch)
        if self.label_order is not None:
            teacher_logits = teacher_logits[:, self.label_order.to(teacher_logits.device)]
        loss = kd_loss(outputs.logits, teacher_logits, batch["labels"], cfg.temperature, cfg.alpha)
        mask = batch["attention_mask"]
        if cfg.uses_hidden:
            terms = [
                hidden_state_loss(proj(outputs.hidden_states[s]), t, mask)
                for (s, _), proj, t in zip(
                    self.layer_map, self.projections, teacher_hidden, strict=True
                )
            ]
            loss = loss + cfg.hidden_weight * torch.stack(terms).mean()
        if cfg.uses_attention:
            terms = [
                attention_map_loss(outputs.attentions[s - 1], t, mask)
                for (s, _), t in zip(self.layer_map, teacher_attn, strict=True)
            ]
            loss = loss + cfg.attention_weight * torch.stack(terms).mean()
        return loss
