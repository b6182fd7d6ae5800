"""The layout's rules: small plugins, a runner that knows no method, metrics that know no method."""

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import nsr_bench
from nsr_bench import registry
from nsr_bench.config import SpecError
from nsr_bench.resolution import resolve_cell

PACKAGE = Path(nsr_bench.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_no_plugin_class_has_more_than_five_hooks():
    from avalanche.core import SupervisedPlugin

    hooks = {n for n in dir(SupervisedPlugin) if n.startswith(("before_", "after_"))}
    checked = 0
    for info in pkgutil.iter_modules([str(PACKAGE / "plugins")]):
        module = importlib.import_module(f"nsr_bench.plugins.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not issubclass(cls, SupervisedPlugin):
                continue
            own = {name for klass in cls.__mro__ if klass.__module__.startswith("nsr_bench")
                   for name in vars(klass) if name in hooks}
            assert len(own) <= 5, f"{cls.__name__} implements {len(own)} hooks: {sorted(own)}"
            checked += 1
    assert checked >= 8


def test_metrics_import_nothing_from_the_method():
    for path in (PACKAGE / "metrics").glob("*.py"):
        bad = {m for m in imported_modules(path) if m.startswith(("nsr_bench.nsr", "nsr_bench.strategies"))}
        assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("module", ["runner.py", "execution.py", "resolution.py"])
def test_the_runner_names_no_method(module):
    imports = imported_modules(PACKAGE / module)
    assert not {m for m in imports if m.startswith("nsr_bench.nsr")}
    assert {m for m in imports if m.startswith("nsr_bench.strategies")} <= {"nsr_bench.strategies.contract"}
    assert {m for m in imports if m.startswith("nsr_bench.plugins")} <= {"nsr_bench.plugins.reporting"}
    source = (PACKAGE / module).read_text()
    for word in ("NSRPlugin", "AdapterAllocation", "BankRouting", "Distillation", "isinstance"):
        assert word not in source


def test_identity_and_memoisation_depend_on_nothing_above_them():
    """The key recipe's modules import no runner, store, strategy, plot or command line."""
    from nsr_bench import memo

    below = {"nsr_bench", "nsr_bench.cache", "nsr_bench.config", "nsr_bench.memo", "nsr_bench.identity",
             "nsr_bench.registry", "nsr_bench.scenarios", "nsr_bench.scenarios.sources"}
    assert set(memo.modules("nsr_bench.identity")) <= below


@pytest.mark.parametrize("name", sorted(registry.strategies()))
def test_every_spec_points_at_one_method_file(name):
    spec = registry.strategies()[name]
    module = registry.resolve(spec.impl)
    assert spec.impl.startswith("nsr_bench.strategies.") and hasattr(module, "Params") and hasattr(module, "build")
    assert set(spec.defaults) <= set(module.Params.model_fields), "a default the method does not read"


@pytest.mark.parametrize("selector", ["nsr[slots=7]", "fresh[tau_recall=0.5]", "ewc[mem_size=10]",
                                      "ncm[rank=8]", "naive[rule=similarity]"])
def test_a_parameter_the_method_does_not_read_is_an_unknown_key(selector):
    with pytest.raises(SpecError, match="unknown key"):
        resolve_cell("digits_cyclic", selector, 0, "cpu")
