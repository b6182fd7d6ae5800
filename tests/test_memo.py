"""One memoiser: keys scoped to the code an artifact runs and the environment it runs in, cached files
verified against the digest recorded when they were written, deterministic bytes, strict trust."""

import json
import sys
import textwrap

import pytest
import torch

from nsr_bench import identity, memo, registry
from nsr_bench.config import SpecError
from nsr_bench.models.pretraining import obtain_backbone
from nsr_bench.resolution import resolve_cell

BUILDERS = sorted({s.builder for s in registry.scenarios().values()})
IMPLS = sorted({s.impl for s in registry.strategies().values()})


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NSR_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def addon(tmp_path, monkeypatch):
    """An add-on package ``addon_pkg`` (a method module importing a helper) registered by entry point."""
    pkg = tmp_path / "site" / "addon_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("SCALE = 1.0\n")
    (pkg / "unrelated.py").write_text("X = 1\n")
    (pkg / "method.py").write_text(textwrap.dedent("""
        from nsr_bench.strategies.carry import Params, build  # noqa: F401
        from addon_pkg import helper  # noqa: F401
    """))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(registry, "entry_points", lambda kind=None: {"addon": "addon_pkg.method"})
    specs = tmp_path / "specs" / "strategies"
    specs.mkdir(parents=True)
    (specs / "addon.yaml").write_text("name: addon\ndescription: an add-on method\nimpl: addon\n")
    monkeypatch.setenv("NSR_SPEC_PATH", str(tmp_path / "specs"))
    yield pkg
    for name in [m for m in sys.modules if m.startswith("addon_pkg")]:
        del sys.modules[name]
    _forget_code()


def _forget_code():
    memo._closure.cache_clear()
    memo._digest.cache_clear()
    memo._package_dirs.cache_clear()


def test_a_cell_runs_no_figure_command_line_or_store_code():
    for impl in IMPLS:
        for builder in BUILDERS:
            names = memo.modules(*identity.cell_modules(impl, builder))
            assert "nsr_bench.models.pretraining" in names and "nsr_bench.execution" in names
            outside = [n for n in names if n.startswith(("nsr_bench.plots", "nsr_bench.cli", "nsr_bench.claims.",
                                                         "nsr_bench.hpo", "nsr_bench.results", "nsr_bench.runner"))
                       and n != "nsr_bench.claims.memory"]  # replay's budget matched to NSR's Bank bound
            assert not outside, f"{impl} on {builder} runs {outside}"
    assert "nsr_bench.models.pretraining" in memo.modules("nsr_bench.models.pretraining")
    assert not [n for n in memo.modules("nsr_bench.models.pretraining") if n.startswith("nsr_bench.scenarios")]


def test_editing_what_an_add_on_method_imports_changes_the_cell_hash_and_nothing_else_does(addon):
    before = resolve_cell("digits_cyclic", "addon", 0, "cpu", test=True)
    (addon / "unrelated.py").write_text("X = 2\n")
    _forget_code()
    assert resolve_cell("digits_cyclic", "addon", 0, "cpu", test=True).hash == before.hash
    (addon / "helper.py").write_text("SCALE = 0.5\n")
    _forget_code()
    after = resolve_cell("digits_cyclic", "addon", 0, "cpu", test=True)
    assert after.identity.code != before.identity.code and after.hash != before.hash
    assert "addon_pkg.helper" in memo.modules(*identity.cell_modules("addon_pkg.method", before.builder))


def test_a_numeric_library_version_is_in_every_key(monkeypatch):
    cell = resolve_cell("digits_cyclic", "carry", 0, "cpu", test=True)
    rec = memo.recipe("backbones", "x", {"a": 1}, ("nsr_bench.models.pretraining",))
    assert cell.identity.libraries["torch"] == rec.env["libraries"]["torch"]
    assert "avalanche" in cell.identity.libraries and "avalanche" not in rec.env["libraries"]
    real = memo.version
    monkeypatch.setattr(memo, "version", lambda dist: "9.9.9" if dist == "torch" else real(dist))
    memo._installed.cache_clear()
    assert resolve_cell("digits_cyclic", "carry", 0, "cpu", test=True).hash != cell.hash
    assert memo.recipe("backbones", "x", {"a": 1}, ("nsr_bench.models.pretraining",)).key != rec.key
    monkeypatch.undo()
    memo._installed.cache_clear()


def test_the_device_name_is_in_the_key_not_just_its_type():
    cell = resolve_cell("digits_cyclic", "carry", 0, "cpu", test=True)
    assert cell.identity.device_name == memo.device_name("cpu")
    assert cell.identity.device_name.startswith("cpu:") and cell.identity.device_name.count(":") == 2


def _pretrain(epochs: int = 1):
    x = torch.rand(24, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    return obtain_backbone("small_cnn", x, "test images", epochs=epochs, seed=0)


def _one_file(kind: str, suffix: str):
    (path,) = [p for p in (memo.cache_dir() / kind).glob(f"*{suffix}") if not p.name.endswith(".digest.json")]
    return path


def test_a_tampered_cached_backbone_is_recomputed_not_reused(capfd):
    from safetensors.torch import load_file, save_file

    net, _, info = _pretrain()
    fresh = {k: v.clone() for k, v in net.state_dict().items()}
    path = _one_file("backbones", ".safetensors")
    state = load_file(str(path))
    save_file({k: v * 0.5 if v.is_floating_point() else v for k, v in state.items()}, str(path))  # valid file
    again, _, info_again = _pretrain()
    assert "does not match the digest recorded when it was written; recomputing it" in capfd.readouterr().err
    assert not info_again["loaded_from_cache"] and info_again["cache_key"] == info["cache_key"]
    assert all(torch.equal(fresh[k], v) for k, v in again.state_dict().items())
    assert _pretrain()[2]["loaded_from_cache"]  # the recomputed entry verifies


@pytest.mark.parametrize("damage", ["truncate", "no_record", "record_garbage"])
def test_a_damaged_cache_entry_is_named_and_recomputed(damage, capfd):
    net, _, _ = _pretrain()
    path = _one_file("backbones", ".safetensors")
    record = path.with_name(path.name + ".digest.json")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "no_record":
        record.unlink()
    else:
        record.write_text("{not json")
    again, _, info = _pretrain()
    err = capfd.readouterr().err
    assert str(path) in err and "recomputing it" in err and not info["loaded_from_cache"]
    assert all(torch.equal(net.state_dict()[k], v) for k, v in again.state_dict().items())


def test_tampered_targets_are_recomputed(tmp_path, capfd):
    from nsr_bench.execution import seed_everything
    from nsr_bench.registry import resolve
    from nsr_bench.scenarios.targets import dedicated_targets

    cell = resolve_cell("digits_cyclic", "carry", 0, "cpu", test=True)
    seed_everything(0)
    scenario = resolve(cell.builder)(**cell.scenario_params, seed=0, device="cpu")
    targets = dedicated_targets(scenario, cell.train, 0)
    path = _one_file("targets", ".json")
    path.write_text(json.dumps(dict.fromkeys(map(str, targets), 0.1)))
    assert dedicated_targets(scenario, cell.train, 0) == targets
    assert "recomputing it" in capfd.readouterr().err


def test_identical_content_gives_identical_bytes(tmp_path, monkeypatch):
    _pretrain()
    first = _one_file("backbones", ".safetensors").read_bytes()
    monkeypatch.setenv("NSR_CACHE_DIR", str(tmp_path / "other"))
    _pretrain()
    assert _one_file("backbones", ".safetensors").read_bytes() == first


def test_a_pre_training_change_gives_new_backbone_and_cell_keys(monkeypatch):
    _, _, info = _pretrain()
    cell = resolve_cell("digits_cyclic", "carry", 0, "cpu", test=True)
    real = memo._digest

    def edited(entry):
        return "edited-" + real(entry) if any("pretraining" in n for n in memo.modules(*entry)) else real(entry)

    monkeypatch.setattr(memo, "_digest", edited)
    assert _pretrain()[2]["cache_key"] != info["cache_key"]
    assert resolve_cell("digits_cyclic", "carry", 0, "cpu", test=True).hash != cell.hash
    plots = memo.recipe("x", "y", {}, ("nsr_bench.plots.figures",))
    assert not plots.code.startswith("edited-")


@pytest.mark.parametrize("target,kind", [("nsr_bench.cli:os", "strategies"),
                                         ("nsr_bench.scenarios.sources:shutil", "scenarios"),
                                         ("nsr_bench.scenarios.real:make_backbone", "scenarios"),
                                         ("nsr_bench.strategies.common", "strategies"),
                                         ("nsr_bench.scenarios.digits:digits_cyclic", "strategies")])
def test_the_trust_check_admits_only_strategy_and_scenario_modules_themselves(tmp_path, monkeypatch, target, kind,
                                                                             capsys):
    from nsr_bench.cli import main

    folder = tmp_path / "specs" / kind
    folder.mkdir(parents=True)
    field = "impl" if kind == "strategies" else "builder"
    (folder / "bad.yaml").write_text(f"name: bad\ndescription: d\n{field}: {target!r}\n")
    monkeypatch.setenv("NSR_SPEC_PATH", str(tmp_path / "specs"))
    args = ["--strategy", "bad"] if kind == "strategies" else ["--scenario", "bad", "--strategy", "carry"]
    assert main(["run", "--test", *args, "--results", str(tmp_path / "r")]) == 2
    assert "nsr-bench: error:" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_specs_are_parsed_once_per_process_and_again_when_a_file_changes(tmp_path, monkeypatch):
    calls = []
    real = registry.load_yaml
    monkeypatch.setattr(registry, "load_yaml", lambda path: calls.append(path) or real(path))
    folder = tmp_path / "specs" / "strategies"
    folder.mkdir(parents=True)
    spec = folder / "mine.yaml"
    spec.write_text("name: mine\ndescription: one\nimpl: nsr_bench.strategies.carry\n")
    monkeypatch.setenv("NSR_SPEC_PATH", str(tmp_path / "specs"))
    registry.lookup("strategies", "mine")
    calls.clear()
    for _ in range(3):
        registry.lookup("strategies", "mine")
    assert calls == []
    spec.write_text("name: mine\ndescription: two, longer\nimpl: nsr_bench.strategies.carry\n")
    assert registry.lookup("strategies", "mine").description == "two, longer" and calls == [spec]


def test_a_rank_the_model_cannot_take_is_refused_at_resolve_time():
    with pytest.raises(SpecError, match="choose rank <= 32"):
        resolve_cell("digits_cyclic", "nsr[rank=100000]", 0, "cpu", test=True)
    with pytest.raises(SpecError, match="not a module of the model"):
        resolve_cell("digits_cyclic", "carry[targets=[features.nope]]", 0, "cpu", test=True)
    with pytest.raises(SpecError, match="choose rank <= "):
        resolve_cell("split_cifar10_cyclic[width=4]", "fresh[rank=64]", 0, "cpu", test=True)


def test_an_artifact_is_hashed_once_per_process(monkeypatch):
    _pretrain()
    memo._verified.clear()
    hashed = []
    real = memo.content_digest
    monkeypatch.setattr(memo, "content_digest", lambda path: hashed.append(path) or real(path))
    for _ in range(3):
        assert _pretrain()[2]["loaded_from_cache"]
    assert len(hashed) == 1
