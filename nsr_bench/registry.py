"""Find strategy and scenario specs: ``./strategies`` and ``./scenarios`` of the working directory,
then folders listed in ``NSR_SPEC_PATH`` (os.pathsep-separated), then the project's own folders.
The first spec of a name wins, so a local YAML file can shadow a shipped one.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from nsr_bench.config import ScenarioSpec, SpecError, StrategySpec, load_yaml, validate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class UnknownNameError(SpecError):
    """A strategy or scenario name that no spec defines."""


def spec_dirs(kind: str) -> list[Path]:
    extra = [Path(p) / kind for p in os.environ.get("NSR_SPEC_PATH", "").split(os.pathsep) if p]
    dirs = [Path.cwd() / kind, *extra, PROJECT_ROOT / kind]
    seen, out = set(), []
    for d in dirs:
        if d.is_dir() and d.resolve() not in seen:
            seen.add(d.resolve())
            out.append(d)
    return out


def _load(kind: str, model: type) -> dict:
    specs = {}
    for d in spec_dirs(kind):
        for path in sorted(d.glob("*.yaml")):
            spec = validate(model, load_yaml(path), str(path))
            spec._path = str(path)
            specs.setdefault(spec.name, spec)
    return specs


def strategies() -> dict[str, StrategySpec]:
    return _load("strategies", StrategySpec)


def scenarios() -> dict[str, ScenarioSpec]:
    return _load("scenarios", ScenarioSpec)


def lookup(kind: str, name: str):
    """The spec ``name`` of ``kind`` ('strategies' or 'scenarios'), or an error listing valid names."""
    specs = strategies() if kind == "strategies" else scenarios()
    if name not in specs:
        raise UnknownNameError(f"unknown {kind[:-1] if kind == 'scenarios' else 'strategy'} {name!r}; "
                               f"valid names: {', '.join(sorted(specs)) or '(none found)'}")
    return specs[name]


def resolve(target: str):
    """Import ``module`` or ``module:attribute``."""
    module, _, attr = target.partition(":")
    try:
        obj = importlib.import_module(module)
        return getattr(obj, attr) if attr else obj
    except (ImportError, AttributeError) as exc:
        raise SpecError(f"cannot import {target!r}: {exc}") from None
