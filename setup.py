"""Packaging beyond pyproject.toml: the top-level spec folders ship inside the wheel.

``strategies/``, ``scenarios/``, ``matrices/`` and ``claims/`` stay the one place the shipped specs live; they are
mapped to the packages ``nsr_bench._specs.<folder>`` (package data: their YAML files), which
pyproject.toml cannot express next to an automatic package search. The learned allocator's policy files
(``nsr_bench/policies/*.json``) ship as package data too, and so do the report's templates (the folder
``nsr_bench/results/templates``, a package of data files only).
"""

from setuptools import find_packages, setup

SPEC_FOLDERS = ("strategies", "scenarios", "matrices", "claims")

setup(
    packages=[*find_packages(include=["nsr_bench", "nsr_bench.*"]), "nsr_bench.results.templates",
              *(f"nsr_bench._specs.{folder}" for folder in SPEC_FOLDERS)],
    package_dir={f"nsr_bench._specs.{folder}": folder for folder in SPEC_FOLDERS},
    package_data={"nsr_bench.plots": ["spec.yaml"], "nsr_bench.policies": ["*.json"],
                  "nsr_bench.results.templates": ["*.j2", "*.css", "*.js"],
                  **{f"nsr_bench._specs.{folder}": ["*.yaml"] for folder in SPEC_FOLDERS}},
)
