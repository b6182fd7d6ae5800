"""The shipped specs. A wheel holds the repository's top-level ``strategies/``, ``scenarios/`` and
``matrices/`` here as package data (mapped by ``setup.py``); a source checkout reads those folders
directly (see :func:`nsr_bench.registry.shipped_dir`)."""
