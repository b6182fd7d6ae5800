"""The learned allocation rules' shared parts: candidate features, the policy and its versioned file, and
the offline trainer (:mod:`nsr_bench.rl.train`, heavy imports)."""
