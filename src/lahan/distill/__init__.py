"""Knowledge distillation: losses, cached teacher outputs, students, the loss plug-in."""

from lahan.distill.cache import TeacherOutputs, teacher_outputs
from lahan.distill.loss import attention_map_loss, hidden_state_loss, kd_loss, soft_target_loss
from lahan.distill.plugin import Distiller
from lahan.distill.students import Student, check_same_tokenizer, make_student, shallow_copy

__all__ = [
    "Distiller",
    "Student",
    "TeacherOutputs",
    "attention_map_loss",
    "check_same_tokenizer",
    "hidden_state_loss",
    "kd_loss",
    "make_student",
    "shallow_copy",
    "soft_target_loss",
    "teacher_outputs",
]
