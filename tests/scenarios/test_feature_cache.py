"""The frozen-prefix feature cache: the split point, exactness, keys, corruption and the switch."""

import copy

import pytest
import torch

from nsr_bench.models.adapter_net import AdapterNet
from nsr_bench.models.architectures import ResNet18Reduced, SmallCNN
from nsr_bench.nsr.lora import attach_lora
from nsr_bench.scenarios import feature_cache as fc


def test_split_point_is_the_first_adapted_or_trainable_stage():
    net = SmallCNN().requires_grad_(False)
    assert fc.first_adapted_stage(net, {"conv2", "fc"}) == 1
    assert fc.first_adapted_stage(net, {"fc"}) == 2
    assert fc.first_adapted_stage(net, set()) == 3
    net.conv1.requires_grad_(True)
    assert fc.first_adapted_stage(net, {"fc"}) == 0
    resnet = ResNet18Reduced(width=4).requires_grad_(False)
    assert fc.first_adapted_stage(resnet, set(resnet.lora_targets)) == 4


@pytest.mark.parametrize("arch", [SmallCNN(image_size=8), ResNet18Reduced(image_size=16, width=4)])
def test_model_on_cached_prefix_equals_the_full_model(arch):
    torch.manual_seed(0)
    model = AdapterNet(copy.deepcopy(arch), 5, {0: [0, 1, 2, 3, 4]}).eval()
    layers = attach_lora(model, model.lora_targets, 2, 4.0)
    for layer in layers.values():
        torch.nn.init.normal_(layer.lora_B)  # a non-zero adapter
    x = torch.randn(7, arch.config["in_channels"], arch.config["image_size"], arch.config["image_size"])
    end = fc.first_adapted_stage(model.features, {t.removeprefix("features.") for t in model.lora_targets})
    assert 0 < end < len(arch.STAGES)
    full = model(x)
    feats = fc.prefix_features(model.features, x, end, batch_size=3)
    model.features.start = end
    assert torch.allclose(model(feats), full, atol=1e-5)
    everything = fc.prefix_features(model.features, x, len(arch.STAGES))
    model.features.start = len(arch.STAGES)  # nothing adapted: the cached features are the features
    assert torch.equal(model.features(everything), everything)
    assert torch.allclose(model(everything), full, atol=1e-5)


def test_disk_cache_hits_misses_on_new_weights_and_recovers_from_corruption():
    torch.manual_seed(0)
    net, x = SmallCNN().eval(), torch.randn(10, 1, 8, 8)
    first, hit = fc.cached_prefix(net, x, 2)
    assert not hit
    again, hit = fc.cached_prefix(net, x, 2)
    assert hit and torch.equal(again, first)
    assert not fc.cached_prefix(net, x + 1, 2)[1]  # other data
    assert not fc.cached_prefix(net, x, 1)[1]  # other split point
    other = copy.deepcopy(net)
    with torch.no_grad():
        other.conv2.weight.add_(0.1)
    feats, hit = fc.cached_prefix(other, x, 2)
    assert not hit and not torch.equal(feats, first)  # a changed prefix never reuses stale features
    path = fc.prefix_recipe(net, 2, x).path.with_suffix(".safetensors")
    path.write_bytes(b"truncated")
    feats, hit = fc.cached_prefix(net, x, 2)
    assert not hit and torch.equal(feats, first)
    assert fc.cached_prefix(net, x, 2)[1]  # rewritten


def test_the_switch_and_a_trainable_backbone_turn_it_off(tiny_scenario, monkeypatch):
    sc = copy.deepcopy(tiny_scenario)
    net = copy.deepcopy(sc.backbone)
    monkeypatch.setenv("NSR_FEATURE_CACHE", "0")
    assert fc.apply_feature_cache(sc, net, {"fc"}) == {"used": False, "reason": "NSR_FEATURE_CACHE=0"}
    monkeypatch.delenv("NSR_FEATURE_CACHE")
    net.requires_grad_(True)
    assert not fc.apply_feature_cache(sc, net, set())["used"] and net.start == 0
    net.requires_grad_(False)
    x_before = sc.tasks[0].x_test
    info = fc.apply_feature_cache(sc, net, {"fc"})
    assert info["used"] and info["prefix_stages"] == net.start == 2
    assert torch.allclose(net(sc.tasks[0].x_test), tiny_scenario.backbone(x_before), atol=1e-5)
