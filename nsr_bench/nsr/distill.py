"""Knowledge distillation protecting prior tasks (NSR step 4).

Hinton et al., "Distilling the Knowledge in a Neural Network", 2015; used for CL as in
Li & Hoiem, "Learning without Forgetting", TPAMI 2017: the model as it was before the experience
is the teacher, the current data is the transfer set, and only prior tasks' outputs are matched.
"""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F


def teacher_log_probs(teacher: Tensor, classes: list[int] | Tensor, temperature: float) -> Tensor:
    """The teacher's temperature-scaled log-probabilities over ``classes`` (constant while it is frozen,
    so they can be computed once for a whole transfer set)."""
    return F.log_softmax(teacher[:, classes].detach() / temperature, 1)


def kd_from_log_probs(student: Tensor, teacher_logp: Tensor, classes: list[int] | Tensor,
                      temperature: float) -> Tensor:
    """:func:`kd_loss` against precomputed :func:`teacher_log_probs`."""
    s = F.log_softmax(student[:, classes] / temperature, 1)
    return F.kl_div(s, teacher_logp, log_target=True, reduction="batchmean") * temperature**2


def kd_loss(student: Tensor, teacher: Tensor, classes: list[int] | Tensor, temperature: float = 2.0) -> Tensor:
    """Temperature-scaled KL(teacher || student) on the logits of ``classes``, times ``T^2``."""
    if len(classes) == 0:
        return student.new_zeros(())
    return kd_from_log_probs(student, teacher_log_probs(teacher, classes, temperature), classes, temperature)
