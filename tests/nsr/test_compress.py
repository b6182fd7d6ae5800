import pytest
import torch

from nsr_bench.nsr.compress import choose_rank, compress, compress_factors, lowrank_svd


def test_error_equals_discarded_singular_values():
    torch.manual_seed(0)
    delta = torch.randn(20, 12) @ torch.randn(12, 30)
    S = torch.linalg.svdvals(delta)
    c = compress(delta, rank=5)
    err = torch.linalg.matrix_norm(delta - c.reconstruct()) ** 2
    assert c.rank == 5
    assert err.item() == pytest.approx((S[5:] ** 2).sum().item(), rel=1e-4)


def test_energy_threshold_picks_smallest_sufficient_rank():
    S = torch.tensor([3.0, 2.0, 1.0, 0.0])  # energies 9, 4, 1 of 14
    assert choose_rank(S, energy=9 / 14) == 1
    assert choose_rank(S, energy=0.93) == 3  # 13/14 = 0.929 falls short
    assert choose_rank(S, energy=13 / 14) == 2
    assert choose_rank(S, energy=1.0) == 3


def test_conv_shape_is_restored_and_low_rank_is_exact():
    torch.manual_seed(1)
    delta = (torch.randn(8, 2) @ torch.randn(2, 4 * 3 * 3)).reshape(8, 4, 3, 3)
    c = compress(delta, energy=0.999999)
    assert c.rank == 2
    assert c.reconstruct().shape == (8, 4, 3, 3)
    assert torch.allclose(c.reconstruct(), delta, atol=1e-5)


def test_fp16_storage_halves_bytes():
    delta = torch.randn(16, 16)
    assert compress(delta, rank=4, dtype="fp16").nbytes * 2 == compress(delta, rank=4).nbytes


@pytest.mark.parametrize("kwargs", [{"energy": 0.0}, {"energy": 1.5}, {"rank": 0}, {},
                                    {"energy": 0.9, "rank": 2}])
def test_bad_settings_are_rejected(kwargs):
    with pytest.raises(ValueError):
        choose_rank(torch.ones(3), **kwargs)


@pytest.mark.parametrize("m,k,n", [(32, 4, 144), (64, 12, 512), (5, 7, 3)])
def test_lowrank_svd_equals_the_dense_svd(m, k, n):
    torch.manual_seed(m + k)
    left, right = torch.randn(m, k), torch.randn(k, n)
    U, S, Vh = lowrank_svd(left, right)
    dense = torch.linalg.svdvals(left @ right)
    assert torch.allclose(S, dense[:len(S)], rtol=1e-4, atol=1e-4)
    assert torch.allclose((U * S) @ Vh, left @ right, atol=1e-4)
    assert torch.allclose(U.T @ U, torch.eye(len(S)), atol=1e-5)


def test_compress_factors_matches_dense_compression():
    torch.manual_seed(3)
    left, right = torch.randn(16, 4), torch.randn(4, 8 * 9)
    shape = (16, 8, 3, 3)
    a = compress_factors(left, right, shape, energy=0.9)
    b = compress((left @ right).reshape(shape), energy=0.9)
    assert a.rank == b.rank and a.shape == b.shape
    assert torch.allclose(a.reconstruct(), b.reconstruct(), atol=1e-4)
