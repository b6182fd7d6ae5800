"""Validated specs, YAML loading, ``name[param=value]`` overrides and the cell hash.

A *cell* is (scenario, strategy, params, seed): its key is the hash of its fully resolved spec and
of its :class:`CellIdentity` (code, libraries, weights, data, files, device, threads; see
:mod:`nsr_bench.identity`), so a finished cell is reused only where a fresh computation would give the
same numbers.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError


class SpecError(ValueError):
    """A spec, override or config file that cannot be used; the message says how to fix it."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainSpec(Strict):
    """Training protocol shared by every strategy on a scenario (equal budgets)."""

    epochs: int = Field(4, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(1e-2, gt=0)
    eval_every: int = Field(2, ge=1, description="optimizer steps between recovery-curve points")
    tol: float = Field(0.05, ge=0, lt=1, description="recovery tolerance")
    eval_batch_size: int = Field(512, ge=1)


class ScenarioSpec(Strict):
    _path: str = PrivateAttr("")
    name: str
    description: str
    builder: str = Field(description="module:function building a Scenario")
    params: dict[str, Any] = {}
    train: TrainSpec = TrainSpec()
    data: list[str] = Field([], description="data sources read (see nsr_bench.scenarios.sources)")
    test: dict[str, Any] = Field({}, description="tiny config: overrides of params and train")
    tuned_on: str | None = Field(None, description="take the strategies' best settings tuned on this scenario "
                                                   "(the same tasks at another length) instead of its own")

    def sources(self, params: dict[str, Any] | None = None) -> list[str]:
        """The data sources a cell with ``params`` reads: its ``source`` or ``domains``, else ``data``."""
        params = {**self.params, **(params or {})}
        if "source" in params:
            return [params["source"]]
        if params.get("domains"):
            return [d["source"] for d in params["domains"] if isinstance(d, dict) and "source" in d]
        return list(self.data)


class StrategySpec(Strict):
    _path: str = PrivateAttr("")
    name: str
    description: str
    impl: str = Field(description="module exposing Params (pydantic) and build(params, ctx)")
    defaults: dict[str, Any] = {}
    search_space: dict[str, Any] = {}
    test: dict[str, Any] = Field({}, description="tiny config: parameter overrides")
    best: dict[str, dict[str, Any]] = Field({}, description="per-scenario tuned settings (used by default)")
    tuned_by: dict[str, dict[str, Any]] = Field(
        {}, description="per-scenario provenance of `best`: the sweep (study, trials, objective, seed) behind it")


class CellIdentity(Strict):
    """What determines a cell's numbers besides its spec (built by :func:`nsr_bench.identity.cell_identity`)."""

    code: str = Field(description="digest of the code the cell runs (execution, its method and scenario modules)")
    libraries: dict[str, str] = Field({}, description="versions of the numeric libraries that code imports")
    weights: str | None = Field(None, description="SHA-256 of the weights file named in the scenario params")
    data: dict[str, str] = Field({}, description="data source -> fingerprint of the files it reads")
    files: list[str | None] = Field([], description="SHA-256 of each file the strategy reads (a learned policy)")
    device_name: str = Field(description="CPU architecture and vector instruction set, or CUDA device name")
    threads: int = Field(ge=1, description="torch threads the cell runs with")


class CellSpec(Strict):
    """Everything that determines one cell's result."""

    scenario: str
    builder: str
    scenario_params: dict[str, Any]
    train: TrainSpec
    strategy: str
    impl: str
    strategy_params: dict[str, Any]
    seed: int
    device: str
    identity: CellIdentity

    @property
    def hash(self) -> str:
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


_SELECTOR = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\[(.*)\])?\s*$", re.S)


def parse_selector(text: str) -> tuple[str, dict[str, Any]]:
    """``"nsr[rank=8,cap=20]"`` -> ``("nsr", {"rank": 8, "cap": 20})`` (values parsed as YAML)."""
    m = _SELECTOR.match(text)
    if not m:
        raise SpecError(f"cannot parse {text!r}; write NAME or NAME[key=value,key=value]")
    name, body = m.group(1), m.group(2)
    overrides: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in _split_top(body or ""))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SpecError(f"override {part!r} in {text!r} is not key=value")
        if key in overrides:
            raise SpecError(f"override {key!r} is given twice in {text!r}; give each key once")
        overrides[key] = parse_yaml(value, f"override {key!r} in {text!r}") if value.strip() else None
    return name, overrides


def format_selector(name: str, overrides: dict[str, Any]) -> str:
    """The inverse of :func:`parse_selector`: ``("nsr", {"rank": 8})`` -> ``'nsr[rank=8]'``."""
    return f"{name}[{','.join(f'{k}={json.dumps(v)}' for k, v in overrides.items())}]" if overrides else name


def _split_top(body: str) -> list[str]:
    """Split on commas that are not inside brackets (so ``targets=[a,b]`` stays whole)."""
    parts, depth, cur = [], 0, ""
    for ch in body:
        depth += (ch in "[{(") - (ch in "]})")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [*parts, cur]


MAX_YAML_NODES = 100_000  # values of one YAML document with its aliases expanded (a spec has a few hundred)


def parse_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load(text)``, refusing a document whose aliases would expand to more than
    :data:`MAX_YAML_NODES` values (counted on the composed node graph, before anything is built); every
    problem is one SpecError naming ``where``."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {}, set(), where)
        if size > MAX_YAML_NODES:
            raise SpecError(f"{where}: its aliases expand to {size} values, more than the {MAX_YAML_NODES} "
                            "a spec may hold; write the values out or use fewer aliases")
        return loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        raise SpecError(f"{where}: {exc.problem}; write plain YAML values (numbers, strings, lists, "
                        "mappings) without tags") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{where}: not valid YAML ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise SpecError(f"{where}: nested too deeply; flatten the YAML") from None
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int], where: str) -> int:
    """The number of values ``node`` stands for once every alias is expanded (each node counted once)."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_nodes:
        raise SpecError(f"{where}: an alias refers to a value that contains it; remove the recursive alias")
    open_nodes.add(id(node))
    children = node.value if isinstance(node, yaml.SequenceNode) else (
        [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else [])
    sizes[id(node)] = 1 + sum(_expanded_size(c, sizes, open_nodes, where) for c in children)
    open_nodes.discard(id(node))
    return sizes[id(node)]


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path``, or a SpecError naming the file and the problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a folder, give a YAML file") from None
    data = parse_yaml(text, str(path))
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of keys to values at the top level")
    return data


def validate(model: type[BaseModel], data: dict[str, Any], where: str) -> BaseModel:
    """``model(**data)`` with every validation problem reported as one SpecError naming ``where``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
                msg = f"unknown key; allowed keys: {sorted(model.model_fields)}"
            got = f" (got {err.get('input')!r})" if err["loc"] else ""
            problems.append(f"  {key}: {msg}{got}")
        raise SpecError(f"{where}: invalid settings\n" + "\n".join(problems)) from None
