import torch

from nsr_bench.models.masked_head import MASK_VALUE, TaskMaskedHead


def head():
    return TaskMaskedHead(3, 6, {0: [0, 1], 1: [3, 2], 2: [4, 5]})


def test_each_sample_keeps_only_its_own_tasks_classes():
    logits = torch.arange(12.0).reshape(2, 6)
    masked = head().mask_tasks(logits, torch.tensor([1, 0]))
    assert masked[0].tolist() == [MASK_VALUE, MASK_VALUE, 2.0, 3.0, MASK_VALUE, MASK_VALUE]
    assert masked[1].tolist() == [6.0, 7.0, *[MASK_VALUE] * 4]
    assert torch.equal(head().mask_task(logits, 2)[:, 4:], logits[:, 4:])
    assert torch.equal(head().mask_classes(logits, [2, 3]), head().mask_task(logits, 1))


def test_the_head_is_a_plain_linear_layer_over_all_classes():
    h = head()
    assert h(torch.ones(4, 3)).shape == (4, 6)
    assert set(h.state_dict()) == {"weight", "bias"}  # the mask is structure, not a weight
    assert h.task_classes[1] == [2, 3]
