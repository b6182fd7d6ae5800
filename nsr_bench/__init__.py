"""nsr-bench: a comparative benchmark for Neural Subspace Reallocation in continual learning.

Heavy dependencies (torch, avalanche) are imported lazily by the modules that need them,
so ``import nsr_bench`` and ``nsr-bench --help`` stay fast.
"""

__version__ = "0.1.0"
