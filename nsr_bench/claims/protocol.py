"""The claims protocol as data: which scenarios, strategies, seeds and comparison each claim rests on.

``claims/paper.yaml`` (a shipped spec like the matrices) declares every claim; :func:`plan` expands it
into the rows to judge (claim x scenario x recurrence) and the cells they need, through the ablation
matrix's own cell expansion, so that ``nsr-bench claims`` reuses every cell the store already holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from nsr_bench.config import SpecError, Strict, format_selector, load_yaml, parse_selector, validate
from nsr_bench.matrix import Cell

Bound = float | None


class Side(Strict):
    """One side of a comparison: a strategy, or several, each of which the claim is judged against;
    ``pick`` says which of them the table shows when none decides (the best mean: min or max)."""

    strategies: list[str] = Field(min_length=1)
    pick: Literal["min", "max"] | None = None

    @model_validator(mode="after")
    def _pick_for_groups(self):
        if len(self.strategies) > 1 and self.pick is None:
            raise ValueError(f"several strategies {self.strategies}: say which one counts with pick: min or max")
        return self


class Claim(Strict):
    id: str
    text: str
    metric: str
    kind: Literal["ratio", "difference", "value"]
    numerator: Side
    denominator: Side | None = None
    paper: float | str
    accept: tuple[Bound, Bound] = Field(description="the region [low, high] (null: unbounded) that reproduces it")
    tolerance: str = ""
    untestable: str = Field("", description="if set, the claim cannot be tested here, for this reason")
    scenarios: list[str] = Field(min_length=1)
    recurrences: list[str] | None = None
    params: dict[str, Any] = Field({}, description="scenario parameters the claim needs on top of each "
                                   "scenario's own (e.g. cycles: 6 for a growth rate), shown in its rows")

    @model_validator(mode="after")
    def _sides(self):
        if (self.kind == "value") != (self.denominator is None):
            need = "takes no denominator" if self.kind == "value" else "needs a denominator"
            raise ValueError(f"claim {self.id}: kind {self.kind} {need}")
        if self.denominator and len(self.numerator.strategies) > 1 and len(self.denominator.strategies) > 1:
            raise ValueError(f"claim {self.id}: only one side may name several strategies (each is judged "
                             f"against the other side)")
        return self

    def strategies(self) -> list[str]:
        return [*self.numerator.strategies, *(self.denominator.strategies if self.denominator else [])]


class TestConfig(Strict):
    seeds: list[int] = Field(min_length=1)
    scenarios: list[str] = Field(min_length=1)
    params: dict[str, Any] = Field({}, description="scenario parameters on top of the tiny test configuration")
    recurrences: list[str] = Field(min_length=1)
    strategies: list[str] = Field(min_length=1)


class Protocol(Strict):
    name: str
    seeds: list[int] = Field(min_length=1)
    recurrences: list[str] = Field(min_length=1)
    memoryless: list[str] = Field([], description="YAML anchors the claims refer to")
    comparators: list[str] = Field([])
    cyclic: list[str] = Field([])
    five: list[str] = Field([])
    test: TestConfig
    claims: list[Claim] = Field(min_length=1)


def load_protocol(path: str | Path = "paper") -> Protocol:
    """The protocol in file ``path``, or the shipped one of that name (``paper``)."""
    from nsr_bench import registry

    path = registry.spec_file("claims", path)
    protocol = validate(Protocol, load_yaml(path), str(path))
    known = {"strategies": registry.strategies(), "scenarios": registry.scenarios()}
    for claim in protocol.claims:
        for kind, names in (("strategies", claim.strategies()), ("scenarios", claim.scenarios)):
            unknown = sorted(set(names) - set(known[kind]))
            if unknown:
                raise SpecError(f"{path}: claim {claim.id} names unknown {kind} {unknown}; "
                                f"`nsr-bench list` shows the known ones")
    return protocol


@dataclass
class Row:
    """One verdict to give: a claim on a scenario under a recurrence mode, and the cells it reads."""

    claim: Claim
    scenario: str
    recurrence: str
    missing: str = ""  # the data problem that makes the row untestable
    cells: list[Cell] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # strategies that cannot run here, with the reason


def plan(protocol: Protocol, test: bool = False, device: str = "cpu", threads: int | None = None,
         scenarios: list[str] | None = None, recurrences: list[str] | None = None) -> list[Row]:
    """Every (claim, scenario, recurrence) row and its cells (only the ``scenarios`` and ``recurrences``
    named, if given); rows whose data are missing keep no cells."""
    from nsr_bench.matrix import MatrixSpec, expand

    variants = _variants(protocol, scenarios)
    modes = {r for c in protocol.claims for r in c.recurrences or protocol.recurrences}
    if set(recurrences or []) - modes:
        raise SpecError(f"no claim of protocol {protocol.name!r} is measured under "
                        f"{sorted(set(recurrences) - modes)}; its recurrence modes are {sorted(modes)}")
    seeds = protocol.test.seeds if test else protocol.seeds
    rows, expanded = [], {}
    for claim in protocol.claims:
        strategies = [s for s in dict.fromkeys(claim.strategies())
                      if not test or s in protocol.test.strategies]
        for base, overrides in variants:
            if base not in claim.scenarios or (test and base not in protocol.test.scenarios):
                continue
            modes = claim.recurrences or protocol.recurrences
            if "recurrence" in overrides:  # a variant that names its recurrence audits that mode only
                modes = [overrides["recurrence"]] if overrides["recurrence"] in modes else []
            shown = {k: v for k, v in {**claim.params, **overrides}.items() if k != "recurrence"}
            scenario = format_selector(base, shown)
            for recurrence in modes:
                if (test and recurrence not in protocol.test.recurrences) or (
                        recurrences and recurrence not in recurrences):
                    continue
                row = Row(claim, scenario, recurrence, missing_data(base))
                params = {**(protocol.test.params if test else {}), **shown, "recurrence": recurrence}
                selector = format_selector(base, params)
                for name in strategies if not row.missing else []:
                    if (selector, name) not in expanded:
                        spec = MatrixSpec(name=protocol.name, scenarios=[selector], seeds=seeds,
                                          factors={"strategy": [name]}, test=test)
                        expanded[selector, name] = expand(spec, device, threads)
                    cells, skipped = expanded[selector, name]
                    row.cells += cells
                    row.skipped += [f"{name}: {reason}" for _, reason in skipped]
                rows.append(row)
    return rows


def _variants(protocol: Protocol, scenarios: list[str] | None) -> list[tuple[str, dict[str, Any]]]:
    """(scenario, parameter overrides) to audit: every scenario of the protocol as it is, or the named ones,
    each of which may be a variant ``NAME[k=v,...]`` of one of the protocol's scenarios."""
    named = list(dict.fromkeys(s for c in protocol.claims for s in c.scenarios))
    if not scenarios:
        return [(s, {}) for s in named]
    parsed = [parse_selector(s) for s in scenarios]
    unknown = sorted({base for base, _ in parsed} - set(named))
    if unknown:
        raise SpecError(f"no claim of protocol {protocol.name!r} is measured on {unknown}; "
                        f"its scenarios are {sorted(named)} (a variant is written NAME[key=value,...])")
    return parsed


def missing_data(scenario: str) -> str:
    """What data ``scenario`` lacks here ('' when all of it is present)."""
    from nsr_bench.registry import lookup
    from nsr_bench.scenarios.sources import data_root, source_status

    spec = lookup("scenarios", scenario)
    return "; ".join(p for p in (source_status(src, data_root()) for src in sorted(spec.sources())) if p)
