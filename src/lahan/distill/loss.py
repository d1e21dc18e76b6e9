"""Distillation losses: soft targets, hidden states, attention maps.

Pure functions of tensors; ``Distiller`` (plugin.py) wires them into the training loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_target_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """T^2 * KL(softmax(teacher/T) || softmax(student/T)), mean over the batch.

    Zero when the student's logits equal the teacher's. Scaling by T^2 keeps the
    gradient magnitude independent of T (Hinton et al. 2015, section 2).
    """
    t = temperature
    log_student = F.log_softmax(student_logits.float() / t, dim=-1)
    log_teacher = F.log_softmax(teacher_logits.float() / t, dim=-1)
    kl = F.kl_div(log_student, log_teacher, log_target=True, reduction="batchmean")
    return kl * t * t


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """alpha * hard-label cross-entropy + (1 - alpha) * soft-target loss."""
    hard = F.cross_entropy(student_logits.float(), labels)
    if alpha == 1.0:
        return hard  # exactly the cross-entropy, whatever the teacher says
    soft = soft_target_loss(student_logits, teacher_logits, temperature)
    return alpha * hard + (1.0 - alpha) * soft


def hidden_state_loss(
    student: torch.Tensor, teacher: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """Mean squared error over the real (unpadded) tokens; [B, T, H] each."""
    mask = attention_mask.unsqueeze(-1).to(student.dtype)
    squared = (student.float() - teacher.float()) ** 2 * mask
    return squared.sum() / (mask.sum() * student.shape[-1]).clamp(min=1)


def attention_map_loss(
    student: torch.Tensor, teacher: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """KL(teacher row || student row) per head and real query token, averaged; [B, h, T, T].

    Padded keys have probability 0 in both maps; padded queries are left out.
    """
    eps = 1e-12
    teacher = teacher.float()
    kl = (teacher * ((teacher + eps).log() - (student.float() + eps).log())).sum(-1)  # [B,h,T]
    query_mask = attention_mask[:, None, :].to(kl.dtype)
    return (kl * query_mask).sum() / (query_mask.sum() * kl.shape[1]).clamp(min=1)
