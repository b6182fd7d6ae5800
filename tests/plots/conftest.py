import json

import pytest


class HandStore:
    """A results store built by hand (``table`` and ``url``, what tables and figures read): resolved cells
    with made-up summaries, nothing trained."""

    url = "hand://"

    def __init__(self):
        self.cells = []

    def add(self, cell, acc: float) -> None:
        summary = {"strategy": cell.strategy, "scenario": cell.scenario, "seed": cell.seed, "hash": cell.hash,
                   "acc": acc, "regret": 1 - acc, "recovery_steps_mean": 1.0}
        self.cells.append({"hash": cell.hash, "spec": json.dumps(cell.model_dump(mode="json")),
                           "summary": json.dumps(summary), "manifest": "{}"})

    def table(self, name: str) -> list[dict]:
        return self.cells if name == "cells" else []


@pytest.fixture
def hand_store():
    """A function of (scenario, strategy, seed, acc[, resolve_cell keywords]) items -> a :class:`HandStore`."""
    from nsr_bench.resolution import resolve_cell

    def build(*items):
        store = HandStore()
        for scenario, strategy, seed, acc, *options in items:
            store.add(resolve_cell(scenario, strategy, seed, "cpu", test=True, **(options[0] if options else {})),
                      acc)
        return store

    return build
