import pytest
import torch
from torch import nn
from torch.nn import functional as F

from nsr_bench.nsr.lora import LoRAConv2d, LoRALinear, adapters_disabled, attach_lora, lora_layers


def randomize(layer):
    with torch.no_grad():
        layer.lora_B.normal_()


def test_linear_update_equals_delta_weight():
    torch.manual_seed(0)
    layer = LoRALinear(nn.Linear(5, 3), rank=2, alpha=4.0)
    randomize(layer)
    x = torch.randn(7, 5)
    expected = F.linear(x, layer.base.weight + layer.delta_weight(), layer.base.bias)
    assert torch.allclose(layer(x), expected, atol=1e-5)


def test_conv_update_equals_delta_weight():
    torch.manual_seed(0)
    base = nn.Conv2d(3, 4, 3, padding=1, stride=2)
    layer = LoRAConv2d(base, rank=2, alpha=2.0)
    randomize(layer)
    x = torch.randn(2, 3, 9, 9)
    expected = F.conv2d(x, base.weight + layer.delta_weight(), base.bias, stride=2, padding=1)
    assert torch.allclose(layer(x), expected, atol=1e-5)


@pytest.mark.parametrize("make, shape", [
    (lambda: LoRALinear(nn.Linear(6, 5), rank=3, alpha=4.0), (4, 6)),
    (lambda: LoRAConv2d(nn.Conv2d(3, 5, 3, padding=2, stride=2, dilation=2), rank=2, alpha=3.0), (2, 3, 11, 11)),
])
def test_inference_with_the_merged_weight_computes_the_trained_function(make, shape):
    torch.manual_seed(0)
    layer = make()
    randomize(layer)
    x = torch.randn(*shape)
    trained = layer(x)  # the factored path: gradients reach A and B
    trained.sum().backward()
    assert layer.lora_A.grad is not None and layer.lora_B.grad.abs().sum() > 0
    with torch.no_grad():  # inference: one product with W + (alpha / r) B A
        merged = layer(x)
    assert torch.allclose(merged, trained, atol=1e-5)
    assert not torch.allclose(merged, layer.base(x), atol=1e-3)  # the update is really applied


def test_fresh_adapter_is_a_zero_update_and_disable_switches_it_off():
    layer = LoRALinear(nn.Linear(4, 4), rank=2, alpha=1.0)
    x = torch.randn(3, 4)
    assert torch.equal(layer(x), layer.base(x))
    randomize(layer)
    model = nn.Sequential(layer)
    with adapters_disabled(model):
        assert torch.equal(model(x), layer.base(x))
    assert not torch.equal(model(x), layer.base(x))


def test_load_factors_reproduces_a_low_rank_update():
    torch.manual_seed(0)
    layer = LoRAConv2d(nn.Conv2d(2, 3, 3), rank=3, alpha=6.0)
    left, right = torch.randn(3, 2), torch.randn(2, 18)
    layer.load_factors(left, right)
    assert torch.allclose(layer.delta_weight(), (left @ right).reshape(3, 2, 3, 3), atol=1e-5)
    assert layer.lora_A.view(3, -1)[2].abs().sum() > 0  # the spare direction stays trainable


def test_attach_wraps_named_layers_freezes_base_and_is_idempotent():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 2))
    layers = attach_lora(model, ["0", "2"], rank=2, alpha=2.0)
    assert isinstance(model[0], LoRAConv2d) and isinstance(model[2], LoRALinear)
    assert not any(p.requires_grad for layer in layers.values() for p in layer.base.parameters())
    assert attach_lora(model, ["0", "2"], 2, 2.0) == layers == lora_layers(model)


def test_attach_rejects_unknown_or_unsupported_targets():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    with pytest.raises(ValueError, match="valid targets: \\['0'\\]"):
        attach_lora(model, ["fc"], 2, 2.0)
    with pytest.raises(ValueError, match="only Linear and Conv2d"):
        attach_lora(model, ["1"], 2, 2.0)


def test_frozen_backbone_batchnorm_statistics_do_not_move_in_training():
    from nsr_bench.models.adapter_net import AdapterNet
    from nsr_bench.models.architectures import ResNet18Reduced

    model = AdapterNet(ResNet18Reduced(3, 8, width=4), 3, {0: [0, 1, 2]}).train()
    before = {k: v.clone() for k, v in model.features.state_dict().items()}
    model(torch.randn(4, 3, 8, 8))
    assert all(torch.equal(before[k], v) for k, v in model.features.state_dict().items())
    model.frozen_backbone = False
    model.train()
    model(torch.randn(4, 3, 8, 8))
    assert any(not torch.equal(before[k], v) for k, v in model.features.state_dict().items())


def test_load_factors_keeps_the_best_rank_r_part_of_a_wider_sum():
    torch.manual_seed(1)
    layer = LoRALinear(nn.Linear(12, 10), rank=2, alpha=2.0)
    left, right = torch.randn(10, 5), torch.randn(5, 12)  # e.g. two merged entries, inner dims 3 + 2
    layer.load_factors(left, right)
    U, S, Vh = torch.linalg.svd(left @ right)
    assert torch.allclose(layer.delta_weight(), (U[:, :2] * S[:2]) @ Vh[:2], atol=1e-4)


def test_a_rank_beyond_the_layers_dimensions_is_a_clear_error():
    with pytest.raises(ValueError, match=r"rank 100000 exceeds .* choose rank <= 8"):
        LoRALinear(nn.Linear(16, 8), rank=100000, alpha=1.0)


def test_a_huge_rank_is_refused_before_anything_runs(tmp_path, capsys):
    from nsr_bench.cli import main

    code = main(["run", "--test", "--strategy", "nsr[rank=100000]", "--results", str(tmp_path / "r")])
    assert code == 2 and "choose rank <= 32" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
