"""The CPU-work audit that the CUDA check relies on must see CPU work when there is some."""

from nsr_bench.execution import execute_cell
from nsr_bench.resolution import resolve_cell
from nsr_bench.training.device_audit import CPUWorkAudit


def test_audit_counts_the_model_work_of_a_cpu_run_and_ignores_small_ops():
    cell = resolve_cell("digits_cyclic", "nsr", 0, "cpu", test=True)
    audit, tiny_only = CPUWorkAudit(min_numel=1024), CPUWorkAudit(min_numel=10**9)
    execute_cell(cell, extra_plugins=[audit, tiny_only])
    assert audit.counts["aten.convolution.default"] > 0 and audit.counts["aten.addmm.default"] > 0
    assert sum(tiny_only.counts.values()) == 0
