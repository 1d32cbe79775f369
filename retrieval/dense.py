"""FAISS inner-product index for one patient's chunks.

Exact ``IndexIDMap2(IndexFlatIP)`` for small collections; ``IndexIVFFlat`` (approximate,
supports add/remove with ids) once a collection reaches ``ivf_min`` vectors. With
faiss-gpu and a CUDA device, large indexes are searched on the GPU through the same
calls; the persisted form is always the CPU index.
"""
from __future__ import annotations

import math
import os
import uuid
from pathlib import Path

import faiss
import numpy as np

from clinqa.errors import DamagedIndexError


def chunk_int_id(chunk_id: str) -> int:
    """int64 FAISS id derived from the chunk id (``c_`` + 16 hex digits -> 60 bits, always positive)."""
    h = chunk_id[2:] if chunk_id.startswith("c_") else chunk_id
    try:
        return int(h[:15], 16)
    except ValueError:
        import hashlib

        return int(hashlib.sha1(chunk_id.encode()).hexdigest()[:15], 16)


def gpu_available() -> bool:
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


_GPU_RES = None


def _to_gpu(index: faiss.Index) -> faiss.Index:
    global _GPU_RES
    if _GPU_RES is None:
        _GPU_RES = faiss.StandardGpuResources()
    return faiss.index_cpu_to_gpu(_GPU_RES, 0, index)


class DenseIndex:
    """Add / remove / search vectors keyed by chunk ids; one instance per patient."""

    def __init__(self, dim: int, ivf_min: int = 20000, nprobe: int = 16, gpu_min: int = 50000, kind: str = "auto"):
        self.dim, self.ivf_min, self.nprobe, self.gpu_min = dim, ivf_min, nprobe, gpu_min
        self.kind_pref = kind  # "auto" | "flat" | "ivf"
        self.index: faiss.Index = self._flat()
        self._gpu_index = None

    # -- construction ---------------------------------------------------------------------
    def _flat(self) -> faiss.Index:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(faiss.downcast_index(self.index), faiss.IndexIVF) else "flat"

    def _want_ivf(self, n: int) -> bool:
        return self.kind_pref == "ivf" or (self.kind_pref == "auto" and n >= self.ivf_min)

    def prepare_ivf(self, train_vecs: np.ndarray, n_expected: int) -> None:
        """Start an empty IVF index trained for about ``n_expected`` vectors (4*sqrt(n) lists, at most 4096)."""
        nlist = int(min(4096, max(8, 4 * math.sqrt(n_expected), 1)))
        nlist = max(1, min(nlist, len(train_vecs) // 39))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        n_train = min(len(train_vecs), 64 * nlist)
        if n_train < len(train_vecs):
            train_vecs = train_vecs[np.random.default_rng(0).choice(len(train_vecs), n_train, replace=False)]
        index.train(np.ascontiguousarray(train_vecs, dtype=np.float32))
        index.nprobe = self.nprobe
        self.index = index
        self._gpu_index = None

    def build(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        """(Re)build from scratch; the index type follows the collection size."""
        n = len(ids)
        if self._want_ivf(n) and n >= 64:
            self.prepare_ivf(vecs, n)
            self.add(ids, vecs)
        else:
            self.index = self._flat()
            self._gpu_index = None
            self.add(ids, vecs)

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), np.asarray(ids, dtype=np.int64))
            self._gpu_index = None

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self.index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))
            self._gpu_index = None

    def needs_rebuild(self) -> bool:
        """Flat grew past the IVF threshold, or IVF grew/shrank far from what its lists were trained for."""
        n = self.ntotal
        if self.kind == "flat":
            return self._want_ivf(n) and n >= 64
        nlist = faiss.downcast_index(self.index).nlist
        trained_for = (nlist / 4) ** 2  # prepare_ivf uses 4*sqrt(n) lists
        return self.kind_pref == "auto" and (n < self.ivf_min // 2 or (nlist < 4096 and n > 4 * trained_for))

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    # -- search -----------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and int64 ids of the top-k (ids -1 dropped)."""
        k = min(k, self.ntotal)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        index = self.index
        if self.ntotal >= self.gpu_min and gpu_available() and os.environ.get("CLINQA_FAISS_GPU", "1") != "0":
            if self._gpu_index is None:
                self._gpu_index = _to_gpu(self.index)
            index = self._gpu_index
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, ids = index.search(q, k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write to a temp file unique to this process, then swap it in (a crash never leaves half an index)."""
        tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
        try:
            faiss.write_index(self.index, str(tmp))
        except RuntimeError as e:  # faiss reports a failed write (disk full, read-only) as RuntimeError
            tmp.unlink(missing_ok=True)
            raise OSError(f"cannot write {path}: {str(e).strip().splitlines()[-1]}") from None
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, **kw) -> "DenseIndex":
        """Read a saved index; a missing, truncated or foreign file raises DamagedIndexError."""
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            why = str(e).strip().splitlines()[-1] if str(e).strip() else "unreadable"
            raise DamagedIndexError(f"the dense index {path} is damaged ({why[:160]})") from None
        self = cls(index.d, **kw)
        self.index = index
        if isinstance(faiss.downcast_index(index), faiss.IndexIVF):
            faiss.downcast_index(index).nprobe = self.nprobe
        return self
