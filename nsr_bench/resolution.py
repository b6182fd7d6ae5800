"""Resolution: selectors such as ``"nsr[rank=8]"`` and a scenario name become a fully validated
:class:`~nsr_bench.config.CellSpec` with its identity, before any work is done. It sits beside the
registry (which finds the specs) and the strategy contract (:mod:`nsr_bench.strategies.contract`); the
runner, matrix, sweeps and claims all resolve through it.
"""

from __future__ import annotations

import inspect

from nsr_bench.config import CellSpec, SpecError, TrainSpec, parse_selector, validate
from nsr_bench.identity import cell_identity, input_files
from nsr_bench.registry import lookup, resolve, tuning_scenario


def resolve_device(device: str) -> str:
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise SpecError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")
    if device == "cpu":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda" if device == "auto" else device
    if device == "auto":
        return "cpu"
    raise SpecError(f"device {device!r} requested but CUDA is not available here; use --device cpu")


def resolve_cell(scenario: str, strategy: str, seed: int, device: str = "auto",
                 test: bool = False, threads: int | None = None, tuned: bool = True) -> CellSpec:
    """Resolve selectors such as ``"nsr[rank=8]"`` into a fully validated cell (no work done) that
    runs with ``threads`` torch threads (default: this process's count). Parameters layer as the
    spec's defaults, then its ``best`` settings for this scenario (``tuned``, and never in the tiny
    ``test`` configuration, which is the defaults plus the spec's test overrides), then the
    selector's overrides."""
    sc_name, sc_over = parse_selector(scenario)
    sc = lookup("scenarios", sc_name)
    train = sc.train.model_dump()
    params = dict(sc.params)
    if test:
        params.update(sc.test.get("params", {}))
        train.update(sc.test.get("train", {}))
    for key, value in sc_over.items():
        (train if key in TrainSpec.model_fields else params)[key] = value
    builder = resolve(sc.builder)
    accepted = [p for p in inspect.signature(builder).parameters if p not in ("seed", "device")]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise SpecError(f"scenario {sc_name!r} ({sc._path}): unknown parameter(s) {unknown}; allowed: "
                        f"{accepted + sorted(TrainSpec.model_fields)}")
    st_name, st_params = strategy_params(strategy, sc_name, test, tuned)
    st = lookup("strategies", st_name)
    impl = resolve(st.impl)
    check_model(impl, st_params, builder, params, f"strategy {strategy!r} on scenario {scenario!r}")
    device = resolve_device(device)
    return CellSpec(scenario=sc_name, builder=sc.builder, scenario_params=params,
                    train=validate(TrainSpec, train, f"scenario {sc_name!r} train"),
                    strategy=st_name, impl=st.impl, strategy_params=st_params, seed=seed, device=device,
                    identity=cell_identity((st.impl, sc.builder), params, sc.sources(params), device, threads,
                                           input_files(impl, st_params)))


def check_model(impl, strategy_params: dict, builder, scenario_params: dict, where: str) -> None:
    """Refuse parameters the scenario's model cannot take (a LoRA rank above a layer's, an unknown
    target) before anything is computed: the method's ``Params.check_backbone`` on the untrained
    backbone the builder's module describes (``skeleton``), where both exist."""
    check = getattr(impl.Params, "check_backbone", None)
    skeleton = getattr(inspect.getmodule(builder), "skeleton", None)
    if check is None or skeleton is None:
        return
    defaults = {k: p.default for k, p in inspect.signature(builder).parameters.items()
                if p.default is not inspect.Parameter.empty}
    try:
        impl.Params(**strategy_params).check_backbone(skeleton({**defaults, **scenario_params}))
    except (ValueError, RuntimeError) as exc:  # torch reports a shape it cannot build as a RuntimeError
        raise SpecError(f"{where}: {exc}") from None


def strategy_params(strategy: str, scenario: str, test: bool = False, tuned: bool = True) -> tuple[str, dict]:
    """The name and validated parameters of the selector ``strategy`` on scenario ``scenario`` (layered as
    :func:`resolve_cell` says). A method module's ``resolve_params(raw, other)``, if it has one, may fill in
    parameters from other specs resolved on the same scenario (``other(name)``; e.g. replay's budget
    matched to NSR's Bank), so that they are part of the cell's hash."""
    st_name, st_over = parse_selector(strategy)
    st = lookup("strategies", st_name)
    best = st.best.get(tuning_scenario(scenario), {}) if tuned and not test else {}
    raw = {**st.defaults, **best, **(st.test if test else {}), **st_over}
    impl = resolve(st.impl)
    if not (hasattr(impl, "Params") and callable(getattr(impl, "build", None))):
        raise SpecError(f"strategy {st_name!r} (spec {st._path}): impl {st.impl!r} is not a method module (it "
                        "defines no Params and build; see nsr_bench/strategies/contract.py)")
    if hasattr(impl, "resolve_params"):
        raw = impl.resolve_params(raw, lambda other: strategy_params(other, scenario, test, tuned)[1])
    where = f"strategy {st_name!r} (spec {st._path}, overrides {st_over or 'none'})"
    return st_name, validate(impl.Params, raw, where).model_dump(mode="json")


def tuning_provenance(cell: CellSpec) -> dict:
    """Where the cell's settings came from: ``tuned`` with the sweep that chose them when every tuned
    setting of its spec for this scenario is in effect, else ``untuned`` (defaults or overrides)."""
    spec = lookup("strategies", cell.strategy)
    tuned_on = tuning_scenario(cell.scenario)
    best = spec.best.get(tuned_on)
    if best and all(cell.strategy_params.get(k) == v for k, v in best.items()):
        return {"status": "tuned", "settings": best, "sweep": spec.tuned_by.get(tuned_on), "tuned_on": tuned_on}
    return {"status": "untuned", "settings": best or {}, "sweep": None}
