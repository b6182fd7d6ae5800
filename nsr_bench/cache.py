"""The on-disk cache folder that :mod:`nsr_bench.memo` fills, its inter-process lock and an atomic JSON writer."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


def save_json_atomic(data, path: Path) -> None:
    """Write JSON through a per-process temporary file and a rename (a concurrent or killed
    writer never leaves a half-written file under the final name); a failed write leaves no temporary file."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data))
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
