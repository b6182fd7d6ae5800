"""Datasets as in-memory tensors, read with torchvision's own loaders from a local data root.

Nothing is downloaded: the root comes from ``--data-root`` or ``NSR_DATA_ROOT``. Archives shipped
as ``.tar.gz`` are prepared once per machine into ``$NSR_CACHE_DIR/data`` under a file lock (parallel
workers wait for one preparation): CIFAR-10's JPEGs are decoded in one pass into a uint8 array per split
(read memory-mapped by index, so a cell decodes nothing), GTSRB is extracted. Images become float tensors
in [0, 1], shaped (N, C, H, W), resized and converted to the requested channels; ``samples_per_class``
subsamples before decoding, so CPU runs only decode what they use. A missing or damaged dataset raises
:class:`DataError` saying what is missing and how to provide it.
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from nsr_bench.config import SpecError


class DataError(SpecError):
    """A dataset that is missing, incomplete or unreadable under the data root."""


@dataclass
class Split:
    """Images, labels and, where a dataset has them, ``groups``: per image, the id of its group of
    near-duplicates (a GTSRB training image's track: 30 frames of one physical sign), which a validation
    split must not cut; None where every image stands alone."""

    x: Tensor
    y: Tensor
    num_classes: int
    groups: Tensor | None = None

    def take(self, idx: np.ndarray) -> Split:
        """The images at ``idx`` (indices or a boolean mask), with their labels and groups."""
        groups = None if self.groups is None else self.groups[idx]
        return Split(self.x[idx], self.y[idx], self.num_classes, groups)


def data_root(explicit: str | os.PathLike | None = None) -> Path | None:
    """``explicit`` if given, else ``$NSR_DATA_ROOT``, else None."""
    value = explicit or os.environ.get("NSR_DATA_ROOT")
    return Path(value) if value else None


def _need_root(root: Path | None, name: str) -> Path:
    if root is None:
        raise DataError(f"dataset {name!r} needs a data root: pass --data-root DIR or set NSR_DATA_ROOT "
                        f"(docs/usage.md, 'Real data', lists the datasets and their layout)")
    if not root.is_dir():
        raise DataError(f"data root {root} does not exist; pass --data-root DIR or set NSR_DATA_ROOT")
    return root


def _prepared(root: Path, archive: str, folder: str, form: str, fill) -> Path:
    """The memoised folder (:mod:`nsr_bench.memo`) holding ``archive`` (under ``root``) in ``form``
    (``extracted`` or ``packed``), filled by ``fill(archive_path, folder_path)``; keyed by the archive's
    SHA-256 and this module's code. A DataError if the archive is missing."""
    from nsr_bench.identity import file_digests
    from nsr_bench.memo import memoised, recipe

    src = root / archive
    if not src.is_file():
        raise DataError(f"neither {root / folder}/ nor {src} exists; put the {archive} archive "
                        "under the data root (docs/usage.md, 'Real data', lists the expected files)")
    (digest,) = file_digests([src])
    rec = recipe("data", archive.removesuffix(".tar.gz"), {"archive": archive, "sha256": digest, "folder": folder,
                                                            "form": form}, (__name__,), device=None)
    memoised(rec, lambda: None, lambda _, target: fill(src, target), lambda target: None)
    return rec.path


def _extract(root: Path, archive: str, folder: str) -> Path:
    """``root/folder`` if present, else ``archive`` extracted once into the cache; the parent dir."""
    if (root / folder).is_dir():
        return root
    return _prepared(root, archive, folder, "extracted", lambda src, target: _extract_into(src, target, folder))


def _packed(root: Path, archive: str, folder: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of ``folder/split/<class>/<image>`` in ``archive``: every image of the archive is
    decoded once per machine into one uint8 array (N, H, W, 3) per split, cached as ``.npy`` (read
    memory-mapped), in ImageFolder's order (classes sorted, then file names), so that the same indices
    give the same pixels as decoding the extracted files; labels index the sorted class names."""
    target = _prepared(root, archive, folder, "packed", lambda src, out: _pack_into(src, folder, out))
    try:
        images = np.load(target / f"{split}-images.npy", mmap_mode="r")
        return images, np.load(target / f"{split}-labels.npy")
    except FileNotFoundError:
        raise DataError(f"{root / archive} holds no {folder}/{split}/ images; it is not the expected "
                        "archive") from None


def _pack_into(src: Path, folder: str, target: Path) -> None:
    """Decode every ``folder/<split>/<class>/<image>`` JPEG of the archive ``src`` in one pass into
    ``target/<split>-images.npy`` and ``<split>-labels.npy``."""
    from io import BytesIO

    from PIL import Image

    decoded: dict[tuple[str, str, str], np.ndarray] = {}
    try:
        with tarfile.open(src) as tar:
            for member in tar:
                parts = member.name.split("/")
                if member.isfile() and len(parts) == 4 and parts[0] == folder:
                    with Image.open(BytesIO(tar.extractfile(member).read())) as img:
                        decoded[tuple(parts[1:])] = np.asarray(img.convert("RGB"))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise corrupt(src, exc) from None
    if len({a.shape for a in decoded.values()}) > 1:
        raise DataError(f"{src}: the images under {folder}/ differ in size; expected one size")
    target.mkdir(parents=True, exist_ok=True)
    for split in sorted({k[0] for k in decoded}):
        keys = sorted(k for k in decoded if k[0] == split)
        classes = sorted({c for _, c, _ in keys})
        for name, array in (("images", np.stack([decoded[k] for k in keys])),
                            ("labels", np.array([classes.index(c) for _, c, _ in keys], dtype=np.int64))):
            np.save(target / f"{split}-{name}.npy", array)


def corrupt(src: Path, exc: Exception) -> DataError:
    """The error for an archive that cannot be read: what is wrong and how to check a new copy."""
    return DataError(f"{src} is corrupt or truncated ({exc}); replace it with a good copy "
                     "(check it with sha256sum -c SHA256SUMS)")


def _extract_into(src: Path, target: Path, folder: str) -> None:
    """Extract ``src`` into the new folder ``target``; it must hold ``folder``."""
    try:
        with tarfile.open(src) as tar:
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise corrupt(src, exc) from None
    if not (target / folder).is_dir():
        raise DataError(f"{src} does not contain {folder}/; it is not the expected archive")


def _subsample(labels: np.ndarray, per_class: int | None, rng: np.random.Generator) -> np.ndarray:
    if per_class is None:
        return np.arange(len(labels))
    keep = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.unique(labels)]
    return np.sort(np.concatenate(keep))


def _decode(paths: list[str]) -> Tensor:
    from PIL import Image

    arrays = []
    for p in paths:
        with Image.open(p) as img:
            arrays.append(np.asarray(img.convert("RGB")))
    sizes = {a.shape for a in arrays}
    if len(sizes) > 1:
        side = max(a.shape[0] for a in arrays)
        return torch.stack([_resize(torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255, side)[0]
                            for a in arrays])
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255


def _resize(x: Tensor, size: int) -> Tensor:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def _mnist_like(cls_name: str):
    from torchvision.datasets import MNIST

    return type(cls_name, (MNIST,), {}) if cls_name != "MNIST" else MNIST


def _load_mnist_format(name: str, cls_name: str, root: Path, train: bool, per_class, rng) -> Split:
    root = _need_root(root, name)
    try:
        ds = _mnist_like(cls_name)(str(root), train=train, download=False)
    except RuntimeError:
        raise DataError(f"{name}: no {cls_name}/raw/ idx files under {root}; put the four "
                        f"*-idx?-ubyte files in {root / cls_name / 'raw'}") from None
    except (ValueError, OSError, AssertionError) as exc:
        raise DataError(f"{name}: the idx files under {root / cls_name / 'raw'} are damaged "
                        f"({exc}); replace them with good copies") from None
    idx = _subsample(ds.targets.numpy(), per_class, rng)
    return Split(ds.data[idx].unsqueeze(1).float() / 255, ds.targets[idx].long(), 10)


ARCHIVES = {"cifar10": ("cifar10-jpeg.tar.gz", "cifar10"), "gtsrb": ("gtsrb32.tar.gz", "gtsrb")}
"""Sources shipped as an archive: name -> (archive under the data root, the folder it holds)."""


def _load_folder_archive(name: str, root: Path, train: bool, per_class, rng) -> Split:
    root = _need_root(root, name)
    archive, folder = ARCHIVES[name]
    split = "train" if train else "test"
    if name == "cifar10" and not (root / folder).is_dir():  # decoded once per machine, then read by index
        images, labels = _packed(root, archive, folder, split)
        idx = _subsample(labels, per_class, rng)
        x = torch.from_numpy(np.ascontiguousarray(images[idx])).permute(0, 3, 1, 2).float() / 255
        return Split(x, torch.as_tensor(labels[idx]).long(), 10)
    from torchvision.datasets import GTSRB, ImageFolder

    base = _extract(root, archive, folder)
    if name == "cifar10":
        samples = ImageFolder(str(base / folder / split)).samples
        num_classes = 10
    else:
        try:
            samples = GTSRB(str(base), split=split, download=False)._samples
        except (RuntimeError, FileNotFoundError) as exc:
            raise DataError(f"gtsrb: incomplete GTSRB folder under {base} ({exc})") from None
        num_classes = 43
    labels = np.array([label for _, label in samples])
    idx = _subsample(labels, per_class, rng)
    groups = gtsrb_tracks(samples)[idx] if name == "gtsrb" and train else None
    return Split(_decode([samples[i][0] for i in idx]), torch.as_tensor(labels[idx]).long(), num_classes,
                 groups)


def gtsrb_tracks(samples: list[tuple[str, int]]) -> Tensor:
    """Per GTSRB training sample ``(path, label)``, a track id unique across classes: training files are
    ``<class>/<track>_<frame>.ppm`` (track numbers restart in every class)."""
    tracks = [f"{label}/{Path(path).name.split('_')[0]}" for path, label in samples]
    return torch.as_tensor(np.unique(tracks, return_inverse=True)[1].reshape(-1))


def _load_torchvision_download(name: str, root: Path, train: bool, per_class, rng) -> Split:
    from torchvision.datasets import CIFAR100, SVHN

    root = _need_root(root, name)
    try:
        ds = (CIFAR100(str(root), train=train, download=False) if name == "cifar100"
              else SVHN(str(root), split="train" if train else "test", download=False))
    except RuntimeError:
        raise DataError(f"{name} is not under {root} (and cannot be downloaded here); on a machine with "
                        f"internet run torchvision.datasets.{'CIFAR100' if name == 'cifar100' else 'SVHN'}"
                        f"('{root}', download=True) and copy the files over") from None
    data = ds.data if name == "cifar100" else ds.data.transpose(0, 2, 3, 1)
    labels = np.asarray(ds.targets if name == "cifar100" else ds.labels)
    idx = _subsample(labels, per_class, rng)
    x = torch.from_numpy(np.ascontiguousarray(data[idx])).permute(0, 3, 1, 2).float() / 255
    return Split(x, torch.as_tensor(labels[idx]).long(), 100 if name == "cifar100" else 10)


PIXEL_LEVELS = {"digits": 16}
"""Sources whose pixels are integers 0..levels other than uint8's 0..255 (scikit-learn's digits: 0..16)."""


def pixel_levels(name: str) -> int:
    """The integer levels of ``name``'s pixels: its inputs are ``k / levels`` unless resized or mixed."""
    return PIXEL_LEVELS.get(name, 255)


def _load_digits(name: str, root, train: bool, per_class, rng) -> Split:
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(0).permutation(len(data.target))
    half = order[: len(order) * 7 // 10] if train else order[len(order) * 7 // 10:]
    idx = half[_subsample(data.target[half], per_class, rng)]
    return Split(torch.tensor(data.images[idx] / pixel_levels(name), dtype=torch.float32).unsqueeze(1),
                 torch.as_tensor(data.target[idx]).long(), 10)


MNIST_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "notmnist": "notMNIST"}
GREY_SOURCES = {"digits", *MNIST_FOLDERS}
"""Sources whose images have one channel (every other source has three)."""


def native_channels(name: str) -> int:
    """The channels of source ``name``'s images as stored."""
    return 1 if name in GREY_SOURCES else 3

"""Sources in the MNIST idx format: name -> torchvision class (and folder) name."""

SOURCES = {
    **{name: lambda r, t, n, g, name=name: _load_mnist_format(name, MNIST_FOLDERS[name], r, t, n, g)
       for name in MNIST_FOLDERS},
    "cifar10": lambda r, t, n, g: _load_folder_archive("cifar10", r, t, n, g),
    "gtsrb": lambda r, t, n, g: _load_folder_archive("gtsrb", r, t, n, g),
    "cifar100": lambda r, t, n, g: _load_torchvision_download("cifar100", r, t, n, g),
    "svhn": lambda r, t, n, g: _load_torchvision_download("svhn", r, t, n, g),
    "digits": lambda r, t, n, g: _load_digits("digits", r, t, n, g),
}


def load_source(name: str, root: Path | None, train: bool, samples_per_class: int | None = None,
                image_size: int | None = None, channels: int | None = None, seed: int = 0) -> Split:
    """One split of a dataset, subsampled per class, resized and with the requested channels."""
    if name not in SOURCES:
        raise DataError(f"unknown data source {name!r}; known sources: {', '.join(sorted(SOURCES))}")
    split = SOURCES[name](root, train, samples_per_class, np.random.default_rng(seed))
    x = split.x
    if channels is not None and x.shape[1] != channels:
        x = x.repeat(1, channels, 1, 1) if x.shape[1] == 1 else x.mean(1, keepdim=True)
    if image_size is not None:
        x = _resize(x, image_size)
    return Split(x.contiguous(), split.y, split.num_classes, split.groups)


def source_files(name: str, root: Path | None) -> dict[str, Path]:
    """The files ``name``'s loader reads (both splits), by a name relative to the data root: what a
    cell's data fingerprint hashes. Expected files that are missing are listed too; a source that
    needs a data root lists nothing without one (loading it then says what is missing)."""
    if name == "digits":
        import importlib.util

        sklearn = Path(importlib.util.find_spec("sklearn").origin).parent  # found, not imported
        return {"sklearn/digits.csv.gz": sklearn / "datasets" / "data" / "digits.csv.gz"}
    if root is None:
        return {}
    if name in MNIST_FOLDERS:
        folder = f"{MNIST_FOLDERS[name]}/raw"
        files = [f"{split}-{kind}" for split in ("train", "t10k") for kind in ("images-idx3-ubyte",
                                                                                "labels-idx1-ubyte")]
    elif name in ARCHIVES:
        archive, folder = ARCHIVES[name]
        if not (root / folder).is_dir():  # read from the archive (see _extract)
            return {archive: root / archive}
        files = sorted(p.relative_to(root / folder).as_posix() for p in (root / folder).rglob("*") if p.is_file())
    elif name == "cifar100":
        folder, files = "cifar-100-python", ["train", "test", "meta"]
    elif name == "svhn":
        folder, files = ".", ["train_32x32.mat", "test_32x32.mat"]
    else:
        raise DataError(f"unknown data source {name!r}; known sources: {', '.join(sorted(SOURCES))}")
    return {(Path(folder) / f).as_posix(): root / folder / f for f in files}


def source_status(name: str, root: Path | None) -> str | None:
    """None if ``name`` can be read under ``root``, else the reason it cannot."""
    try:
        load_source(name, root, train=False, samples_per_class=1)
    except DataError as exc:
        return str(exc)
    return None
