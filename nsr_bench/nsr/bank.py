"""TaskKnowledgeBank: compressed task adapters keyed by task embeddings (NSR steps 2-3).

Entries are reserved after a task is learned and recalled by cosine similarity of their keys to a
query embedding (one matrix product over all keys). A top-K retention cap bounds memory; when it is
exceeded, the eviction policy removes one entry (never the one just reserved). Memory is counted
exactly from the stored tensors. Banks are saved as one safetensors file whose header carries the
JSON metadata; loading never unpickles anything.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor
from torch.nn import functional as F

from nsr_bench.nsr.compress import CompressedDelta

BANK_FORMAT = "nsr-bench/task-knowledge-bank"
BANK_VERSION = 2
READ_VERSIONS = ("1", "2")  # 1: the metadata in several header keys (their order varied between processes)
HEADER_KEY = "nsr-bench-bank"  # version 2: format, version and Bank in this one header key
EVICTION_POLICIES = ("lru", "lfu", "fifo", "frequency")


class BankFileError(ValueError):
    """A Bank file that is corrupt, truncated, foreign or of an unsupported version."""


@dataclass
class EntryMeta:
    """Bookkeeping of one entry; ``tasks`` is for reporting and oracle inference only."""

    tasks: list[int] = field(default_factory=list)
    classes: list[int] = field(default_factory=list)
    created: int = 0
    last_use: int = 0
    uses: int = 0
    accuracy: float | None = None
    last_task: int | None = None


@dataclass
class BankEntry:
    """A compressed adapter: per-layer SVD factors, the head rows of its classes, and its key."""

    key: Tensor
    layers: dict[str, CompressedDelta]
    head_weight: Tensor
    head_bias: Tensor
    meta: EntryMeta = field(default_factory=EntryMeta)

    def tensors(self) -> dict[str, Tensor]:
        out = {"key": self.key, "head.weight": self.head_weight, "head.bias": self.head_bias}
        for name, c in self.layers.items():
            out.update({f"layer.{name}.U": c.U, f"layer.{name}.S": c.S, f"layer.{name}.Vh": c.Vh})
        return out

    @property
    def nbytes(self) -> int:
        """Bytes of every stored tensor of this entry."""
        return sum(t.numel() * t.element_size() for t in self.tensors().values())


class TaskKnowledgeBank:
    """A capped store of compressed task adapters with similarity recall.

    Args:
        cap: top-K retention cap (maximum number of entries), >= 1.
        eviction: which entry leaves when the cap is exceeded: ``lru`` (least recently used),
            ``lfu`` (fewest uses, then least recent), ``fifo`` (oldest created) or ``frequency`` (fewest
            recalls, ties broken by evicting the newest). On a cyclic order with K below the number of
            tasks, LRU evicts each task just before it recurs; ``frequency`` keeps established entries,
            so some recurrences are recalled.
    """

    def __init__(self, cap: int = 50, eviction: str = "lru"):
        if cap < 1:
            raise ValueError(f"Bank cap K must be >= 1, got {cap}")
        if eviction not in EVICTION_POLICIES:
            raise ValueError(f"unknown eviction policy {eviction!r}; choose one of {EVICTION_POLICIES}")
        self.cap = cap
        self.eviction = eviction
        self.entries: dict[int, BankEntry] = {}
        self.evicted: list[int] = []
        self.learned_tasks: set[int] = set()
        self._next_id = 0
        self._keys: Tensor | None = None
        self._ids: list[int] = []

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, entry_id: int) -> bool:
        return entry_id in self.entries

    def __getitem__(self, entry_id: int) -> BankEntry:
        return self.entries[entry_id]

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self.entries.values())

    def reserve(self, entry: BankEntry, now: int, entry_id: int | None = None) -> int:
        """Store ``entry`` (replacing ``entry_id`` when given) and enforce the cap; returns its id."""
        if entry_id is None:
            entry_id = self._next_id
            self._next_id += 1
            entry.meta.created = now
        entry.meta.last_use = now
        entry.key = F.normalize(entry.key.detach().to("cpu", torch.float32).flatten(), dim=0)
        self.entries[entry_id] = entry
        self.learned_tasks.update(entry.meta.tasks)
        while len(self.entries) > self.cap:
            victim = self._victim(exclude=entry_id)
            del self.entries[victim]
            self.evicted.append(victim)
        self._keys = None
        return entry_id

    def _victim(self, exclude: int) -> int:
        candidates = [i for i in self.entries if i != exclude]
        order = {
            "lru": lambda i: (self.entries[i].meta.last_use, i),
            "lfu": lambda i: (self.entries[i].meta.uses, self.entries[i].meta.last_use, i),
            "fifo": lambda i: (self.entries[i].meta.created, i),
            "frequency": lambda i: (self.entries[i].meta.uses, -self.entries[i].meta.created, -i),
        }[self.eviction]
        return min(candidates, key=order)

    def touch(self, entry_id: int, now: int) -> None:
        """Record a use of ``entry_id`` at time ``now``."""
        meta = self.entries[entry_id].meta
        meta.uses += 1
        meta.last_use = now

    def similarities(self, query: Tensor) -> tuple[list[int], Tensor]:
        """Cosine similarity of ``query`` to every key, as (ids, similarities)."""
        if not self.entries:
            return [], torch.empty(0)
        if self._keys is None:
            self._ids = list(self.entries)
            self._keys = torch.stack([self.entries[i].key for i in self._ids])
        q = F.normalize(query.detach().to("cpu", torch.float32).flatten(), dim=0)
        return self._ids, self._keys @ q

    def evicted_tasks(self) -> set[int]:
        """Tasks some entry has learned that no entry held now has (their entries were evicted)."""
        return self.learned_tasks - {t for e in self.entries.values() for t in e.meta.tasks}

    def nearest(self, queries: Tensor) -> list[int]:
        """The id of the most similar entry for each row of ``queries`` (one matrix product)."""
        ids, _ = self.similarities(queries[0])
        q = F.normalize(queries.detach().to("cpu", torch.float32).flatten(1), dim=1)
        return [ids[j] for j in (q @ self._keys.T).argmax(1).tolist()]

    def recall(self, query: Tensor, k: int = 1) -> list[tuple[int, float]]:
        """The ``k`` entries most similar to ``query``, best first, as (id, cosine similarity)."""
        ids, sims = self.similarities(query)
        if not ids:
            return []
        top = torch.topk(sims, min(k, len(ids)))
        return [(ids[j], float(s)) for s, j in zip(top.values.tolist(), top.indices.tolist(), strict=True)]

    def entry_for_task(self, task: int) -> int | None:
        """The most recently used entry that has learned ``task`` (oracle inference), if any."""
        owners = [i for i, e in self.entries.items() if task in e.meta.tasks]
        return max(owners, key=lambda i: self.entries[i].meta.last_use) if owners else None

    def describe(self) -> str:
        """A human-readable listing: cap, every entry's tasks, ranks and bytes, key similarities."""
        lines = [f"TaskKnowledgeBank: {len(self)} entries, cap K={self.cap}, eviction={self.eviction}, "
                 f"{self.nbytes} bytes ({self.nbytes / 1e6:.4f} MB), evicted ids {self.evicted or 'none'}"]
        for i, e in sorted(self.entries.items()):
            ranks = ", ".join(f"{n}: rank {c.rank} of {tuple(c.shape)} ({c.U.dtype})" for n, c in e.layers.items())
            acc = "-" if e.meta.accuracy is None else f"{e.meta.accuracy:.3f}"
            lines.append(f"  entry {i}: tasks {e.meta.tasks}, classes {e.meta.classes}, uses {e.meta.uses}, "
                         f"last use {e.meta.last_use}, accuracy {acc}, {e.nbytes} bytes; {ranks}")
        if len(self) > 1:
            ids, _ = self.similarities(torch.zeros_like(next(iter(self.entries.values())).key))
            keys = torch.stack([self.entries[i].key for i in ids])
            sims = keys @ keys.T
            lines.append("  key cosine similarities:")
            lines.append("        " + "".join(f"{i:>7}" for i in ids))
            lines += [f"  {i:>5} " + "".join(f"{v:7.3f}" for v in row.tolist())
                      for i, row in zip(ids, sims, strict=True)]
        return "\n".join(lines)

    # ------------------------------------------------------------------ persistence
    def to_bytes(self) -> bytes:
        """The Bank as one safetensors file, its JSON metadata in one header key (so that the same Bank
        gives the same bytes in every process)."""
        from safetensors.torch import save

        tensors, index = {}, {}
        for entry_id, entry in self.entries.items():
            for name, t in entry.tensors().items():
                tensors[f"{entry_id}/{name}"] = t.contiguous()
            index[str(entry_id)] = {
                "meta": asdict(entry.meta),
                "layers": {n: list(c.shape) for n, c in entry.layers.items()},
                "ranks": {n: c.rank for n, c in entry.layers.items()},
            }
        header = {"cap": self.cap, "eviction": self.eviction, "next_id": self._next_id,
                  "evicted": self.evicted, "learned_tasks": sorted(self.learned_tasks), "entries": index}
        document = {"format": BANK_FORMAT, "version": BANK_VERSION, "bank": header}
        return save(tensors, metadata={HEADER_KEY: json.dumps(document, sort_keys=True)})

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_bytes` to ``path`` (through a temporary file and a rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(self.to_bytes())
        tmp.replace(path)

    @classmethod
    def from_bytes(cls, data: bytes) -> TaskKnowledgeBank:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bank.safetensors"
            path.write_bytes(data)
            return cls.load(path)

    @classmethod
    def load(cls, path: str | Path) -> TaskKnowledgeBank:
        """Read a Bank saved by :meth:`save` (or by version 1's several header keys); any other file, or
        one whose metadata contradicts its tensors, raises :class:`BankFileError`."""
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise BankFileError(f"{path}: no such Bank file")
        try:
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata() or {}
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as exc:  # safetensors raises several types for damaged files
            raise BankFileError(f"{path}: not a readable safetensors file ({exc}); "
                                "the file is corrupt or truncated, re-save the Bank") from None
        try:
            document = _document(metadata)
        except (TypeError, ValueError) as exc:
            raise BankFileError(f"{path}: Bank metadata is not readable JSON ({exc}); re-save the Bank") from None
        if document.get("format") != BANK_FORMAT:
            raise BankFileError(f"{path}: not an nsr-bench Bank (format {document.get('format')!r})")
        if str(document.get("version")) not in READ_VERSIONS:
            raise BankFileError(f"{path}: Bank format version {document.get('version')!r} is not "
                                f"supported (this nsr-bench reads versions {', '.join(READ_VERSIONS)})")
        try:
            header = document["bank"]
            bank = cls(cap=int(header["cap"]), eviction=header["eviction"])
            bank._next_id = int(header["next_id"])
            bank.evicted = [int(i) for i in header["evicted"]]
            for sid, info in header["entries"].items():
                p = f"{sid}/"
                layers = {n: CompressedDelta(tensors[f"{p}layer.{n}.U"], tensors[f"{p}layer.{n}.S"],
                                             tensors[f"{p}layer.{n}.Vh"], tuple(shape))
                          for n, shape in info["layers"].items()}
                bank.entries[int(sid)] = BankEntry(tensors[f"{p}key"], layers, tensors[f"{p}head.weight"],
                                                   tensors[f"{p}head.bias"], EntryMeta(**info["meta"]))
                _check_entry(bank.entries[int(sid)], info.get("ranks"))
            held = {t for e in bank.entries.values() for t in e.meta.tasks}
            bank.learned_tasks = {int(t) for t in header.get("learned_tasks", held)}  # older files: held only
            _check_bank(bank, tensors)
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
            raise BankFileError(f"{path}: Bank metadata is inconsistent with its tensors ({exc!r})") from None
        return bank


def _document(metadata: dict[str, str]) -> dict:
    """Format, version and header of a Bank file: one JSON key (version 2) or several keys (version 1)."""
    if HEADER_KEY in metadata:
        return json.loads(metadata[HEADER_KEY])
    return {"format": metadata.get("format"), "version": metadata.get("version"),
            "bank": json.loads(metadata["bank"]) if "bank" in metadata else None}


def _check_entry(entry: BankEntry, ranks: dict[str, int] | None) -> None:
    """A ValueError where an entry's tensors contradict each other, its layer shapes or its ``ranks``."""
    if entry.key.dim() != 1 or entry.head_weight.dim() != 2 or entry.head_bias.dim() != 1:
        raise ValueError("key, head weight and head bias must have 1, 2 and 1 dimensions")
    if not entry.head_weight.shape[0] == entry.head_bias.shape[0] == len(entry.meta.classes):
        raise ValueError(f"head rows {entry.head_weight.shape[0]} and {entry.head_bias.shape[0]} for "
                         f"{len(entry.meta.classes)} classes")
    if ranks is not None and set(ranks) != set(entry.layers):
        raise ValueError(f"ranks recorded for layers {sorted(ranks)}, tensors for {sorted(entry.layers)}")
    for name, c in entry.layers.items():
        rows, cols = c.shape[0], math.prod(c.shape[1:])
        if c.U.dim() != 2 or c.S.dim() != 1 or c.Vh.dim() != 2 or c.U.shape != (rows, c.rank) \
                or c.Vh.shape != (c.rank, cols):
            raise ValueError(f"layer {name}: factors {tuple(c.U.shape)}, {tuple(c.S.shape)}, {tuple(c.Vh.shape)} "
                             f"do not factor shape {tuple(c.shape)}")
        if ranks is not None and ranks[name] != c.rank:
            raise ValueError(f"layer {name}: header says rank {ranks[name]}, its tensors have rank {c.rank}")


def _check_bank(bank: TaskKnowledgeBank, tensors: dict[str, Tensor]) -> None:
    """A ValueError where the Bank's entries contradict its tensors or its cap."""
    expected = {f"{i}/{name}" for i, e in bank.entries.items() for name in e.tensors()}
    if set(tensors) != expected:
        extra = sorted(set(tensors) - expected)
        raise ValueError(f"{len(bank)} entries in the header, but tensors of other entries: {extra[:4]}")
    if len(bank) > bank.cap:
        raise ValueError(f"{len(bank)} entries above the cap K={bank.cap}")
    if len({e.key.numel() for e in bank.entries.values()}) > 1:
        raise ValueError("entries' keys have different lengths")
