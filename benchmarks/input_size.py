"""EfficientNet-Lite0's input resolution: frozen-feature accuracy against extraction cost, per size.

    python benchmarks/input_size.py [--sizes 64 96 128 160] [--train 100] [--test 50]

On Split-CIFAR-10 (5 tasks of 2 classes, classes 2t and 2t+1; ``--train``/``--test`` images per class from
``NSR_DATA_ROOT``) it extracts the frozen backbone's features at each ``input_size`` and prints the
task-incremental accuracy of a nearest-class-mean and of a logistic-regression probe, and the extraction time
per image. The rule (``docs/pretrained.md``): the smallest size within 2 points of the best NCM accuracy.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from nsr_bench.models.architectures import make_backbone
from nsr_bench.scenarios.sources import data_root, load_source
from nsr_bench.training.inference import batched, evaluating

TOLERANCE = 0.02  # of the best NCM accuracy


def features(size: int, x: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Frozen features at ``size`` pixels and the seconds per image they took."""
    net = make_backbone("efficientnet_lite0", 3, x.shape[-1], input_size=size)
    net.load_pretrained()
    with evaluating(net):
        batched(net, x[:32], 32)  # warm-up
        start = time.perf_counter()
        out = batched(net, x, 128)
    return out, (time.perf_counter() - start) / len(x)


def task_il(f_tr, y_tr, f_te, y_te) -> tuple[float, float]:
    """Mean over tasks of NCM and logistic-probe accuracy among each task's 2 classes."""
    ncm, probe = [], []
    for t in range(5):
        tr, te = np.isin(y_tr, [2 * t, 2 * t + 1]), np.isin(y_te, [2 * t, 2 * t + 1])
        classes = np.unique(y_tr[tr])
        means = np.stack([f_tr[tr][y_tr[tr] == c].mean(0) for c in classes])
        dist = ((f_te[te][:, None] - means[None]) ** 2).sum(-1)
        ncm.append((classes[dist.argmin(1)] == y_te[te]).mean())
        clf = LogisticRegression(max_iter=2000).fit(f_tr[tr], y_tr[tr])
        probe.append(clf.score(f_te[te], y_te[te]))
    return float(np.mean(ncm)), float(np.mean(probe))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128, 160])
    parser.add_argument("--train", type=int, default=100)
    parser.add_argument("--test", type=int, default=50)
    args = parser.parse_args()
    torch.manual_seed(0)
    train = load_source("cifar10", data_root(), True, args.train, 32, None, 0)
    test = load_source("cifar10", data_root(), False, args.test, 32, None, 0)
    x = torch.cat([train.x, test.x])
    rows = {}
    print(f"Split-CIFAR-10, {args.train} train / {args.test} test per class, {torch.get_num_threads()} threads")
    print(f"  {'size':>4s} {'NCM':>6s} {'probe':>6s} {'ms/image':>8s}")
    for size in args.sizes:
        f, per_image = features(size, x)
        f = f.numpy()
        rows[size] = (*task_il(f[:len(train.y)], train.y.numpy(), f[len(train.y):], test.y.numpy()), per_image)
        print(f"  {size:4d} {rows[size][0]:6.3f} {rows[size][1]:6.3f} {rows[size][2] * 1e3:8.2f}", flush=True)
    best = max(r[0] for r in rows.values())
    chosen = min(s for s, r in rows.items() if r[0] >= best - TOLERANCE)
    print(f"smallest size within {TOLERANCE:.0%} of the best NCM accuracy ({best:.3f}): {chosen}")


if __name__ == "__main__":
    main()
