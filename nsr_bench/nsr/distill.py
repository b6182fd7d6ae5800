"""Knowledge distillation protecting prior tasks (NSR step 4).

Hinton et al., "Distilling the Knowledge in a Neural Network", 2015; used for CL as in
Li & Hoiem, "Learning without Forgetting", TPAMI 2017: the model as it was before the experience
is the teacher, the current data is the transfer set, and only prior tasks' outputs are matched.
"""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F


def kd_loss(student: Tensor, teacher: Tensor, classes: list[int], temperature: float = 2.0) -> Tensor:
    """Temperature-scaled KL(teacher || student) on the logits of ``classes``, times ``T^2``."""
    if not classes:
        return student.new_zeros(())
    s = student[:, classes] / temperature
    t = teacher[:, classes].detach() / temperature
    return F.kl_div(F.log_softmax(s, 1), F.log_softmax(t, 1), log_target=True,
                    reduction="batchmean") * temperature**2
