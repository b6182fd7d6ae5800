"""Shipped policy files of the learned allocator (``rl_v1.json``: see :mod:`nsr_bench.rl.policy`)."""
