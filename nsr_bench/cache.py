"""The on-disk cache shared by the backbone, feature and data caches: its folder and an atomic writer."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from torch import Tensor


def cache_dir() -> Path:
    return Path(os.environ.get("NSR_CACHE_DIR") or Path.home() / ".cache" / "nsr-bench")


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive inter-process lock on ``path`` (the hidden file ``.<name>.lock`` beside it): one
    process fills a cache entry (an extracted archive, a pre-trained backbone) while the others wait and
    then read it, instead of every parallel worker paying for it."""
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_name(f".{path.name}.lock")):
        yield


def save_atomic(tensors: dict[str, Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    """Write a safetensors cache file through a per-process temporary file and a rename, so that a
    concurrent or killed writer never leaves a half-written file under the final name."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    tmp.replace(path)


def save_json_atomic(data, path: Path) -> None:
    """Write JSON through a per-process temporary file and a rename (see :func:`save_atomic`); a failed
    write leaves no temporary file behind."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data))
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
