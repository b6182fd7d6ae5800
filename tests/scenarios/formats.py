"""Writers of tiny datasets in the official on-disk formats that torchvision reads."""

from __future__ import annotations

import struct
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image


def write_idx(path: Path, array: np.ndarray) -> None:
    """The MNIST idx format: magic (0, 0, type 0x08 = ubyte, ndim), big-endian dims, then the bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def mnist_like(root: Path, folder: str, classes: int = 10, per_class: int = 6, seed: int = 0) -> None:
    """``root/folder/raw`` with train and t10k idx files; images carry their label as brightness."""
    rng = np.random.default_rng(seed)
    for prefix in ("train", "t10k"):
        labels = np.repeat(np.arange(classes), per_class)
        images = rng.integers(0, 40, (len(labels), 28, 28)) + (labels * 20)[:, None, None]
        write_idx(root / folder / "raw" / f"{prefix}-images-idx3-ubyte", images)
        write_idx(root / folder / "raw" / f"{prefix}-labels-idx1-ubyte", labels)


def _image(value: int, size: int, fmt: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, dtype=np.uint8)).save(path, format=fmt)


def cifar10_archive(root: Path, classes: int = 10, per_class: int = 6) -> Path:
    """``root/cifar10-jpeg.tar.gz`` holding cifar10/{train,test}/<class>/<n>.jpg."""
    staging = root / "_staging"
    for split in ("train", "test"):
        for c in range(classes):
            for n in range(per_class):
                _image(20 * c + n, 32, "JPEG", staging / "cifar10" / split / f"class{c:02d}" / f"{n:04d}.jpg")
    archive = root / "cifar10-jpeg.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging / "cifar10", arcname="cifar10")
    return archive


def gtsrb_archive(root: Path, classes: int = 12, per_class: int = 4, frames: int = 2) -> Path:
    """``root/gtsrb32.tar.gz`` in torchvision's GTSRB layout (Training/<class>/<track>_<frame>.ppm in tracks
    of ``frames`` images, Final_Test); training image n of class c has the value 10 c + n everywhere."""
    base = root / "_staging" / "gtsrb"
    rows = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"]
    for c in range(classes):
        for n in range(per_class):
            name = f"{n // frames:05d}_{n % frames:05d}.ppm"
            _image(10 * c + n, 32, "PPM", base / "GTSRB" / "Training" / f"{c:05d}" / name)
            name = f"{c * per_class + n:05d}.ppm"
            _image(10 * c + n, 32, "PPM", base / "GTSRB" / "Final_Test" / "Images" / name)
            rows.append(f"{name};32;32;0;0;31;31;{c}")
    (base / "GT-final_test.csv").write_text("\n".join(rows) + "\n")
    archive = root / "gtsrb32.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(base, arcname="gtsrb")
    return archive


def data_root(root: Path) -> Path:
    """A complete offline data root: MNIST, Fashion-MNIST, notMNIST, CIFAR-10 and GTSRB."""
    for folder in ("MNIST", "FashionMNIST", "notMNIST"):
        mnist_like(root, folder)
    cifar10_archive(root)
    gtsrb_archive(root)
    return root
