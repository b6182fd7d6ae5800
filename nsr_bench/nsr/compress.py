"""SVD compression of a layer's LoRA update (NSR step 1).

The update ``Delta W`` is flattened to a matrix, decomposed as ``U S V^T`` and truncated to the
smallest rank whose retained energy ``sum_{i<k} s_i^2 / sum_i s_i^2`` reaches a threshold, or to a
fixed rank. By Eckart-Young the squared Frobenius error equals the sum of the discarded ``s_i^2``.

A LoRA update arrives factored, ``Delta W = L R`` with inner dimension r, and a merge of Bank entries
is a sum of such products; :func:`lowrank_svd` gives their exact SVD from two thin QR factorizations
and the SVD of an r x r core, without forming or decomposing the dense ``out x in`` matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


@dataclass
class CompressedDelta:
    """Truncated SVD factors of one layer's update, in the weight's original shape."""

    U: Tensor
    S: Tensor
    Vh: Tensor
    shape: tuple[int, ...]

    @property
    def rank(self) -> int:
        return int(self.S.numel())

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.U, self.S, self.Vh))

    def reconstruct(self) -> Tensor:
        U, S, Vh = (t.to(torch.float32) for t in (self.U, self.S, self.Vh))
        return ((U * S) @ Vh).reshape(self.shape)


def choose_rank(S: Tensor, energy: float | None = None, rank: int | None = None) -> int:
    """Smallest rank keeping ``energy`` of the squared singular values, or ``rank`` (capped)."""
    if (energy is None) == (rank is None):
        raise ValueError("give exactly one of energy (0 < e <= 1) or rank (>= 1)")
    if rank is not None:
        if rank < 1:
            raise ValueError(f"compression rank must be >= 1, got {rank}")
        return min(rank, S.numel())
    if not 0.0 < energy <= 1.0:
        raise ValueError(f"energy threshold must be in (0, 1], got {energy}")
    power = S.double() ** 2
    total = power.sum()
    if total == 0:
        return 1
    kept = torch.cumsum(power, 0) / total
    return min(int((kept < energy - 1e-12).sum()) + 1, S.numel())


def lowrank_svd(left: Tensor, right: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The thin SVD ``U, S, Vh`` of ``left @ right`` (``left`` m x k, ``right`` k x n, k small).

    ``left = Q1 R1`` and ``right^T = Q2 R2``, so ``left @ right = Q1 (R1 R2^T) Q2^T``; the SVD of the
    k x k core rotates the orthonormal bases. Cost O((m + n) k^2) instead of O(m n min(m, n)).
    """
    q1, r1 = torch.linalg.qr(left.to(torch.float32))
    q2, r2 = torch.linalg.qr(right.to(torch.float32).T)
    u, s, vh = torch.linalg.svd(r1 @ r2.T, full_matrices=False)
    return q1 @ u, s, vh @ q2.T


def compress(delta: Tensor, energy: float | None = None, rank: int | None = None,
             dtype: str = "fp32") -> CompressedDelta:
    """Compress a dense ``delta`` by truncated SVD; factors are stored in ``dtype`` (fp32 or fp16)."""
    flat = delta.detach().reshape(delta.shape[0], -1).to("cpu", torch.float32)
    return _truncate(*torch.linalg.svd(flat, full_matrices=False), tuple(delta.shape), energy, rank, dtype)


def compress_factors(left: Tensor, right: Tensor, shape: tuple[int, ...], energy: float | None = None,
                     rank: int | None = None, dtype: str = "fp32") -> CompressedDelta:
    """:func:`compress` of ``(left @ right).reshape(shape)`` without forming the dense product."""
    U, S, Vh = lowrank_svd(left.detach(), right.detach())  # on the adapter's device; stored on the CPU
    return _truncate(U.cpu(), S.cpu(), Vh.cpu(), shape, energy, rank, dtype)


def _truncate(U: Tensor, S: Tensor, Vh: Tensor, shape: tuple[int, ...], energy: float | None,
              rank: int | None, dtype: str) -> CompressedDelta:
    if dtype not in DTYPES:
        raise ValueError(f"unknown storage dtype {dtype!r}; choose one of {sorted(DTYPES)}")
    k = choose_rank(S, energy, rank)
    cast = DTYPES[dtype]
    return CompressedDelta(U[:, :k].to(cast).contiguous(), S[:k].to(cast).contiguous(),
                           Vh[:k].to(cast).contiguous(), shape)
