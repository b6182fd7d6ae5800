"""Find strategy and scenario specs: ``./strategies`` and ``./scenarios`` of the working directory,
then folders listed in ``NSR_SPEC_PATH`` (os.pathsep-separated), then the specs shipped with the
package (:func:`shipped_dir`). The first spec of a name wins, so a local YAML file can shadow a
shipped one.

Specs parametrise trusted code only: a strategy's ``impl`` must name a method module of
``nsr_bench.strategies`` and a scenario's ``builder`` a function defined in a module of
``nsr_bench.scenarios``, or an implementation registered through the Python entry points
``nsr_bench.strategies`` / ``nsr_bench.scenarios`` (by entry-point name, or by its exact ``module:attr``
value). Anything else is refused before it is imported. Specs are parsed once per process (again only
when a file changes).
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.resources
import os
import sys
from pathlib import Path

from nsr_bench.config import ScenarioSpec, SpecError, StrategySpec, load_yaml, validate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GROUPS = {"strategies": "nsr_bench.strategies", "scenarios": "nsr_bench.scenarios"}
TARGET_FIELD = {"strategies": "impl", "scenarios": "builder"}


class UnknownNameError(SpecError):
    """A strategy or scenario name that no spec defines."""


def shipped_dir(kind: str) -> Path:
    """The shipped specs of ``kind`` (strategies, scenarios, matrices): package data of
    ``nsr_bench._specs`` in an installed wheel, else the source checkout's top-level folder."""
    packaged = Path(str(importlib.resources.files("nsr_bench._specs").joinpath(kind)))
    return packaged if packaged.is_dir() else PROJECT_ROOT / kind


def spec_file(kind: str, path: str | Path) -> Path:
    """The file ``path``, or, when no such file exists and ``path`` is a bare name, the shipped spec of
    ``kind`` (matrices, claims) of that name."""
    shipped = shipped_dir(kind) / f"{path}.yaml"
    if not Path(path).exists() and Path(str(path)).name == str(path) and shipped.is_file():
        return shipped
    return Path(path)


def spec_dirs(kind: str) -> list[Path]:
    extra = [Path(p) / kind for p in os.environ.get("NSR_SPEC_PATH", "").split(os.pathsep) if p]
    dirs = [Path.cwd() / kind, *extra, shipped_dir(kind)]
    seen, out = set(), []
    for d in dirs:
        if d.is_dir() and d.resolve() not in seen:
            seen.add(d.resolve())
            out.append(d)
    return out


_parsed: dict[tuple[str, Path], tuple[tuple[int, int], object]] = {}


def _load(kind: str, model: type) -> dict:
    """Every spec of ``kind`` by name (first folder wins). Each file is parsed and validated once per
    process and again only when its size or modification time changes."""
    specs = {}
    for d in spec_dirs(kind):
        for path in sorted(d.glob("*.yaml")):
            st = path.stat()
            stamp, hit = (st.st_size, st.st_mtime_ns), _parsed.get((kind, path))
            if hit is None or hit[0] != stamp:
                spec = validate(model, load_yaml(path), str(path))
                trusted(getattr(spec, TARGET_FIELD[kind]), f"{path}: {TARGET_FIELD[kind]}", kind)
                spec._path = str(path)
                hit = _parsed[(kind, path)] = (stamp, spec)
            specs.setdefault(hit[1].name, hit[1])
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


def tuning_scenario(name: str) -> str:
    """The scenario whose tuned ``best`` settings the cells of scenario ``name`` take: its ``tuned_on``, else
    itself (also for a scenario no spec names, e.g. in a store from elsewhere)."""
    spec = scenarios().get(name)
    return (spec.tuned_on if spec else None) or name


def entry_points(kind: str | None = None) -> dict[str, str]:
    """Registered implementations, entry-point name -> ``module:attr``, of ``kind`` (default: both groups);
    read once per process and import path."""
    return _entry_points(kind, tuple(sys.path))


@functools.cache
def _entry_points(kind: str | None, _path: tuple[str, ...]) -> dict[str, str]:
    groups = [GROUPS[kind]] if kind else list(GROUPS.values())
    return {ep.name: ep.value for g in groups for ep in importlib.metadata.entry_points(group=g)}


def trusted(target: str, where: str, kind: str | None = None) -> str:
    """The importable ``module[:attr]`` that ``target`` names, if it is trusted code (see the module
    docstring); otherwise a SpecError, raised before anything is imported."""
    module = target.partition(":")[0]
    packages = [GROUPS[kind]] if kind else list(GROUPS.values())
    if any(module.startswith(p + ".") and module.count(".") == 2 for p in packages):
        return target
    registered = entry_points(kind)
    if target in registered:
        return registered[target]
    if target in registered.values():
        return target
    groups = " or ".join(repr(GROUPS[k]) for k in ([kind] if kind else GROUPS))
    raise SpecError(f"{where} {target!r} is not trusted code: name a module of {' or '.join(packages)}, or an "
                    f"implementation registered under the entry-point group {groups} (registered here: "
                    f"{', '.join(sorted(registered)) or 'none'})")


def resolve(target: str):
    """Import ``module`` or ``module:attribute`` of trusted code (see :func:`trusted`); the attribute must be
    defined in that module (not a module or object it imports, such as ``os``)."""
    module, _, attr = trusted(target, "implementation").partition(":")
    try:
        obj = importlib.import_module(module)
        found = getattr(obj, attr) if attr else obj
    except (ImportError, AttributeError) as exc:
        raise SpecError(f"cannot import {target!r}: {exc}") from None
    if attr and getattr(found, "__module__", None) != module:
        raise SpecError(f"{target!r} is not defined in {module} (it is {type(found).__name__} "
                        f"{getattr(found, '__name__', attr)!r} from elsewhere); name a function or class of "
                        "that module")
    return found
