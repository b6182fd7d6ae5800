"""One method per file: its ``Params`` (only what it reads) and ``build(params, ctx) -> plugins``.

The YAML specs in the top-level ``strategies/`` folder name these modules as their ``impl``;
:mod:`.common` holds the parameter groups and plugin stacks the methods share.
"""
