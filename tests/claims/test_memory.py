"""The analytic memory calculator against a real Bank's stored bytes, and the rank a figure implies."""

import pytest

from nsr_bench.claims.memory import backbone, bank_bound, entry_bytes, implied_rank, select_layers
from nsr_bench.plugins.adapter_allocation import AdapterAllocation
from tests.plugins.helpers import make_strategy, nsr_plugins, plugin_of


@pytest.fixture(scope="module")
def bank(tiny_scenario):
    plugins = nsr_plugins(tiny_scenario, fixed_rank=2, store_dtype="fp16")
    _, strategy, _ = make_strategy(tiny_scenario, plugins, epochs=1)
    for exp in tiny_scenario.benchmark().train_stream:
        strategy.train(exp, num_workers=0)
    return plugin_of(strategy, AdapterAllocation).bank


def test_calculator_gives_each_real_entry_its_exact_bytes(bank):
    net = backbone("small_cnn", in_channels=1, image_size=8)  # the digits backbone
    layers = select_layers(net, None)
    assert sorted(layers) == ["conv2", "fc"] and layers["conv2"] == (32, 16 * 9)
    assert len(bank) > 0
    for entry in bank.entries.values():
        assert {c.rank for c in entry.layers.values()} == {2}
        predicted = entry_bytes(net, layers, 2, "fp16", classes=len(entry.meta.classes))
        assert predicted["total"] == entry.nbytes
    fp32 = entry_bytes(net, layers, 2, "fp32", classes=2)
    assert fp32["adapters"] == 2 * entry_bytes(net, layers, 2, "fp16", classes=2)["adapters"]


def test_implied_rank_inverts_the_calculator():
    net = backbone("resnet18_reduced")
    layers = select_layers(net, None)
    mb = entry_bytes(net, layers, 6, "fp32", classes=10)["total"] / 1e6
    assert implied_rank(net, layers, mb, "fp32", classes=10) == pytest.approx(6.0)


def test_vit_attention_exposes_q_and_v_and_unknown_layers_are_refused():
    net = backbone("vit_b_16")
    layers = select_layers(net, None)
    assert len(layers) == 24 and all(s == (768, 768) for s in layers.values())
    with pytest.raises(ValueError, match="no layer of resnet18 matches"):
        select_layers(backbone("resnet18"), ["nope.*"])


def test_claims_memory_command_reports_bytes_and_the_implied_rank(capsys):
    import json

    from nsr_bench.cli import main

    assert main(["claims", "memory", "--backbone", "resnet18_reduced", "--rank", "6", "--classes", "10",
                 "--paper-mb", "0.29", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    net = backbone("resnet18_reduced")
    assert out["bytes"] == entry_bytes(net, select_layers(net, None), 6, "fp32", classes=10)
    assert out["implied_rank"] == pytest.approx(implied_rank(net, select_layers(net, None), 0.29, classes=10))
    assert main(["claims", "memory", "--backbone", "resnet18", "--layers", "nope"]) == 2


def test_the_bank_bound_holds_a_real_bank_and_counts_entries_and_head_rows(bank, tiny_scenario):
    net = backbone("small_cnn", in_channels=1, image_size=8)
    layers = select_layers(net, None)
    per_experience = [len(tiny_scenario.tasks[t].classes) for t in tiny_scenario.order]  # 6 experiences x 2
    bound = bank_bound(net, layers, 2, "fp16", cap=10, experience_classes=per_experience, num_classes=6)
    assert bank.nbytes <= bound
    entry = entry_bytes(net, layers, 2, "fp16", classes=2)["total"]
    assert bound == 6 * entry  # one entry per experience, each with its experience's 2 head rows
    capped = bank_bound(net, layers, 2, "fp16", cap=2, experience_classes=per_experience, num_classes=6)
    assert capped == 2 * entry_bytes(net, layers, 2, "fp16", classes=6)["total"]  # 2 entries, each all 6 classes
