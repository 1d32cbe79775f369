"""Per-patient hybrid retrieval over note chunks: FAISS (dense) + BM25, fused by reciprocal rank.

The SQLite store's chunks table is the source of truth. Everything under
``<workspace>/index/`` is a cache that ``sync()`` rebuilds incrementally:

    index/manifest.json            format, embedder name, dim, per patient {dir, digest of chunk ids, n}
    index/embeddings.sqlite        (model, sha256 of chunk text) -> vector
    index/patients/<key>/dense.faiss, ids.json, bm25/

Each patient has their own dense and lexical index, so a query can only ever
score that patient's chunks (and hits are checked against the patient again).

Writes happen under the workspace's writer lock, through uniquely named temp
files swapped in with ``os.replace``; a damaged index found on open is reported
and rebuilt from the store, and ``check()`` / ``rebuild()`` back ``clinqa check``
and ``clinqa reindex``.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from clinqa.errors import DamagedIndexError, InputError, WorkspaceBusyError
from clinqa.records import Chunk
from retrieval.dense import DenseIndex, chunk_int_id
from retrieval.embedding import Embedder, EmbeddingCache, make_embedder
from retrieval.expansion import Expander, QueryExpander, expand_query
from retrieval.lexical import LexicalIndex

MODES = ("hybrid", "dense", "bm25")
FORMAT = 1


@dataclass
class Hit:
    """One retrieved chunk with its provenance (patient, note, date, section, exact offsets)."""

    chunk: Chunk
    score: float
    rank: int
    mode: str
    scores: dict[str, float] = field(default_factory=dict)  # per-mode raw scores that fed the fusion
    copies: list[str] = field(default_factory=list)  # chunk ids of the same text copied into other notes

    @property
    def patient_id(self) -> str:
        return self.chunk.patient_id

    @property
    def note_id(self) -> str:
        return self.chunk.note_id

    @property
    def start(self) -> int:
        return self.chunk.start

    @property
    def end(self) -> int:
        return self.chunk.end

    @property
    def text(self) -> str:
        return self.chunk.text

    @property
    def section(self) -> str | None:
        return self.chunk.section

    @property
    def note_date(self) -> dt.date | None:
        return self.chunk.note_date


_HEADER_LINE = re.compile(r"^[^\n]{1,60}:[ \t]*\n")


def _copy_key(text: str) -> str:
    """Identity of a passage across copy-forward: its words, without a leading section header line."""
    return " ".join(_HEADER_LINE.sub("", text.strip(), count=1).lower().split())


def rrf_fuse(rankings: Iterable[list[str]], k0: int = 60) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion: sum of 1/(k0 + rank) over the rankings an item appears in."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for r, cid in enumerate(ranking, start=1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k0 + r)
    return sorted(fused.items(), key=lambda kv: -kv[1])


def _digest(ids: Iterable[str]) -> str:
    return hashlib.sha1("\n".join(sorted(ids)).encode()).hexdigest()


def _patient_key(pid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", pid)[:60] + "-" + hashlib.sha1(pid.encode()).hexdigest()[:8]


def temp_path(path: Path) -> Path:
    """A temp name next to ``path`` unique to this process and call (two writers never share one)."""
    return path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def _write_json(path: Path, obj: Any) -> None:
    tmp = temp_path(path)
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)


@dataclass
class _Bundle:
    digest: str
    dense: DenseIndex | None
    id_map: dict[int, str]
    lexical: LexicalIndex
    chunks: dict[str, Chunk]


class Retriever:
    """``retrieve(patient_id, query, k, mode, sections, date_range) -> list[Hit]`` over persisted per-patient indexes."""

    def __init__(
        self,
        workspace: Any,
        embedder: Embedder | str | None = None,
        expander: Expander | None | str = "default",
        ivf_min: int = 20000,
        nprobe: int = 16,
        rrf_k: int = 60,
        cache_size: int = 64,
    ):
        self.ws = workspace
        self.store = workspace.store
        self.dir = Path(workspace.home) / "index"
        self.embedder = embedder if isinstance(embedder, Embedder) else make_embedder(embedder)
        self.expander: Expander | None = QueryExpander() if expander == "default" else expander  # type: ignore[assignment]
        self.ivf_min, self.nprobe, self.rrf_k = ivf_min, nprobe, rrf_k
        self._cache: OrderedDict[str, _Bundle] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.RLock()
        self._emb_cache: EmbeddingCache | None = None

    def warm_up(self) -> None:
        self.embedder.warm_up()

    def _writing(self, wait: bool = True):
        """The workspace's writer lock (re-entrant); a bare workspace object without one needs none."""
        lock = getattr(self.ws, "lock", None)
        return lock.hold(wait=wait) if lock is not None else contextlib.nullcontext()

    # -- manifest ---------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.dir / "manifest.json"

    def manifest(self) -> dict[str, Any]:
        """The index manifest; an empty one (marked ``damaged``) when the file exists but cannot be read."""
        empty = {"format": FORMAT, "embedder": None, "dim": None, "patients": {}}
        try:
            m = json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            return empty
        except (OSError, ValueError):
            return {**empty, "damaged": True}
        if isinstance(m, dict) and m.get("format") == FORMAT and isinstance(m.get("patients"), dict):
            return m
        return {**empty, "damaged": True}

    @property
    def emb_cache(self) -> EmbeddingCache:
        if self._emb_cache is None:
            try:
                self._emb_cache = EmbeddingCache(self.dir / "embeddings.sqlite")
            except sqlite3.DatabaseError as e:
                self._reset_emb_cache(e)
        return self._emb_cache

    def _reset_emb_cache(self, e: sqlite3.DatabaseError) -> None:
        """Replace a damaged embedding cache with an empty one (it is only a cache: vectors are re-encoded)."""
        msg = str(e).lower()
        if "readonly" in msg or "read-only" in msg or "disk is full" in msg:
            raise e
        path = self.dir / "embeddings.sqlite"
        print(f"clinqa: the embedding cache {path} is damaged ({e}); starting a new one", file=sys.stderr)
        if self._emb_cache is not None:
            self._emb_cache.close()
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            p.unlink(missing_ok=True)
        self._emb_cache = EmbeddingCache(path)

    def _embed(self, texts: list[str], progress: bool | None = False) -> np.ndarray:
        """Vectors through the cache; a cache found damaged mid-use is replaced once and the call repeated."""
        try:
            return self.emb_cache.embed(self.embedder, texts, progress=progress)
        except sqlite3.DatabaseError as e:
            self._reset_emb_cache(e)
            return self.emb_cache.embed(self.embedder, texts, progress=progress)

    def forget_texts(self, texts: list[str]) -> int:
        """Remove the cached vectors of these chunk texts (after a deletion); returns how many went."""
        if not texts or not (self.dir / "embeddings.sqlite").exists():
            return 0
        return self.emb_cache.forget([hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts])

    def _store_ids(self, patient_id: str | None = None) -> dict[str, list[str]]:
        q, args = "SELECT patient_id, chunk_id FROM chunks", ()
        if patient_id is not None:
            q, args = q + " WHERE patient_id=?", (patient_id,)
        out: dict[str, list[str]] = {}
        for pid, cid in self.store.con.execute(q, args):
            out.setdefault(pid, []).append(cid)
        return out

    # -- sync ---------------------------------------------------------------------------------
    def sync(self, progress: bool | None = None, patient_id: str | None = None, wait: bool = True) -> dict[str, int]:
        """Bring the persisted indexes in line with the store; only changed patients are touched."""
        with self._lock, self._writing(wait):
            self.dir.mkdir(parents=True, exist_ok=True)
            self._drop_stale_temps()
            man = self.manifest()
            if man.pop("damaged", False):
                print(f"clinqa: the index manifest {self.manifest_path} is damaged; re-indexing every patient from the "
                      "store", file=sys.stderr)
                patient_id = None
            rebuild_all = man.get("embedder") != self.embedder.name
            if rebuild_all and man["patients"]:
                shutil.rmtree(self.dir / "patients", ignore_errors=True)
                man["patients"] = {}
            store_ids = self._store_ids(patient_id)
            pats = man["patients"]
            stats = {"patients_updated": 0, "patients_removed": 0, "chunks_added": 0, "chunks_removed": 0}
            scope = [patient_id] if patient_id is not None else list(pats)
            for pid in scope:
                if pid in pats and pid not in store_ids:
                    shutil.rmtree(self.dir / "patients" / pats[pid]["dir"], ignore_errors=True)
                    stats["chunks_removed"] += pats.pop(pid).get("n", 0)
                    stats["patients_removed"] += 1
                    self._cache.pop(pid, None)
            changed = {pid: ids for pid, ids in store_ids.items() if pats.get(pid, {}).get("digest") != _digest(ids)}
            if changed:
                dim = self.embedder.dim
                plans = [self._plan(pid, ids) for pid, ids in changed.items()]
                texts = [c.text for p in plans for c in p["to_embed"]]
                vecs = self._embed(texts, progress=progress if progress is not None else len(texts) > 256)
                pos = 0
                show = progress if progress is not None else len(plans) > 50
                for p in tqdm(plans, desc="index", unit="patient", disable=not show, leave=False):
                    n = len(p["to_embed"])
                    self._apply(p, vecs[pos : pos + n], dim)
                    pos += n
                    pats[p["pid"]] = {"dir": p["key"], "digest": p["digest"], "n": len(p["chunks"])}
                    stats["patients_updated"] += 1
                    stats["chunks_added"] += p["n_added"]
                    stats["chunks_removed"] += p["n_removed"]
                    self._cache.pop(p["pid"], None)
                man["dim"] = dim
            man["embedder"] = self.embedder.name
            _write_json(self.manifest_path, man)
            return stats

    def _plan(self, pid: str, ids: list[str]) -> dict[str, Any]:
        key = _patient_key(pid)
        pdir = self.dir / "patients" / key
        chunks = self.store.chunks(pid)
        old: list[str] = []
        if (pdir / "ids.json").exists() and (pdir / "dense.faiss").exists():
            try:
                old = json.loads((pdir / "ids.json").read_text())
            except ValueError:
                old = []
        new_ids = {c.chunk_id for c in chunks}
        removed = [c for c in old if c not in new_ids]
        old_set = set(old)
        added = [c for c in chunks if c.chunk_id not in old_set]
        return {
            "pid": pid, "key": key, "dir": pdir, "chunks": chunks, "old": old, "removed": removed,
            "to_embed": added, "n_added": len(added), "n_removed": len(removed), "digest": _digest(ids),
        }

    def _apply(self, p: dict[str, Any], vecs: np.ndarray, dim: int) -> None:
        pdir: Path = p["dir"]
        pdir.mkdir(parents=True, exist_ok=True)
        chunks: list[Chunk] = p["chunks"]
        int_ids = {c.chunk_id: chunk_int_id(c.chunk_id) for c in chunks}
        if len(set(int_ids.values())) != len(int_ids):
            raise RuntimeError(f"chunk id hash collision for patient {p['pid']}")
        kw = {"ivf_min": self.ivf_min, "nprobe": self.nprobe}
        dense = DenseIndex(dim, **kw)
        if p["old"]:
            try:
                dense = DenseIndex.load(pdir / "dense.faiss", **kw)
            except DamagedIndexError as e:  # rebuilt below from the full chunk set
                print(f"clinqa: {e}; rebuilding it from the store", file=sys.stderr)
                p["removed"], p["to_embed"] = [], list(chunks)
                vecs = self._embed([c.text for c in chunks])
        dense.remove(np.array([chunk_int_id(c) for c in p["removed"]], dtype=np.int64))
        dense.add(np.array([int_ids[c.chunk_id] for c in p["to_embed"]], dtype=np.int64), vecs)
        if dense.needs_rebuild() or dense.ntotal != len(chunks):
            all_vecs = self._embed([c.text for c in chunks])
            dense.build(np.array([int_ids[c.chunk_id] for c in chunks], dtype=np.int64), all_vecs)
        LexicalIndex.build([c.chunk_id for c in chunks], [c.text for c in chunks]).save(pdir / "bm25")
        dense.save(pdir / "dense.faiss")
        _write_json(pdir / "ids.json", [c.chunk_id for c in chunks])

    def chunk_missing(self, chunker: Any = None, patient_id: str | None = None) -> int:
        """Chunk active notes stored without chunks (e.g. ingested with --no-extract); facts are left as they are."""
        from retrieval.chunking import NoteChunker

        chunker = chunker or getattr(self.ws, "chunker", None) or NoteChunker()
        q = ("SELECT note_id, patient_id FROM notes n WHERE active=1 AND NOT EXISTS "
             "(SELECT 1 FROM chunks c WHERE c.note_id = n.note_id)")
        rows = self.store.con.execute(q + (" AND patient_id=?" if patient_id else ""), (patient_id,) if patient_id else ()).fetchall()
        for note_id, pid in rows:
            note = self.store.note(note_id)
            self.store.replace_derived(note_id, chunks=chunker.run(note, self.store.facts(pid, note_id)))
        return len(rows)

    # -- loading --------------------------------------------------------------------------------
    def _bundle(self, patient_id: str) -> _Bundle:
        ids = self._store_ids(patient_id).get(patient_id, [])
        digest = _digest(ids)
        with self._lock:
            b = self._cache.get(patient_id)
            if b is not None and b.digest == digest:
                self._cache.move_to_end(patient_id)
                return b
            entry = self.manifest()["patients"].get(patient_id)
            if ids and (entry is None or entry.get("digest") != digest or self.manifest().get("embedder") != self.embedder.name):
                try:  # the store moved on since the last sync
                    self.sync(progress=False, patient_id=patient_id, wait=False)
                except WorkspaceBusyError:  # another process is writing: answer from memory, persist nothing
                    return self._memory_bundle(patient_id, digest)
                entry = self.manifest()["patients"].get(patient_id)
            if not ids or entry is None:
                b = _Bundle(digest, None, {}, LexicalIndex(), {})
            else:
                try:
                    b = self._load_bundle(patient_id, digest, self.dir / "patients" / entry["dir"])
                except DamagedIndexError as e:
                    print(f"clinqa: {e}; rebuilding it from the store", file=sys.stderr)
                    try:
                        self.rebuild(patient_id, wait=False)
                    except WorkspaceBusyError:
                        return self._memory_bundle(patient_id, digest)
                    entry = self.manifest()["patients"][patient_id]
                    b = self._load_bundle(patient_id, digest, self.dir / "patients" / entry["dir"])
            self._cache[patient_id] = b
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return b

    def _load_bundle(self, patient_id: str, digest: str, pdir: Path) -> _Bundle:
        chunks = {c.chunk_id: c for c in self.store.chunks(patient_id)}
        dense = DenseIndex.load(pdir / "dense.faiss", ivf_min=self.ivf_min, nprobe=self.nprobe)
        lexical = LexicalIndex.load(pdir / "bm25")
        if dense.ntotal != len(chunks) or set(lexical.chunk_ids) != set(chunks):
            raise DamagedIndexError(f"the search index of patient {patient_id!r} does not match the store")
        return _Bundle(digest, dense, {chunk_int_id(c): c for c in chunks}, lexical, chunks)

    def _memory_bundle(self, patient_id: str, digest: str) -> _Bundle:
        """Indexes built in memory from the store, for a query while another process holds the writer lock."""
        chunks = {c.chunk_id: c for c in self.store.chunks(patient_id)}
        dense = DenseIndex(self.embedder.dim, ivf_min=self.ivf_min, nprobe=self.nprobe)
        texts = [c.text for c in chunks.values()]
        dense.build(np.array([chunk_int_id(c) for c in chunks], dtype=np.int64),
                    self._embed(texts) if texts else np.zeros((0, dense.dim)))
        lexical = LexicalIndex.build(list(chunks), texts)
        return _Bundle(digest, dense, {chunk_int_id(c): c for c in chunks}, lexical, chunks)

    # -- repair -------------------------------------------------------------------------------------
    def _drop_stale_temps(self) -> None:
        """Temp files and folders left by a killed writer (we hold the writer lock, so none is in use)."""
        for p in [*self.dir.glob("*.tmp"), *self.dir.glob("patients/*/*.tmp"), *self.dir.glob("patients/*/*.old")]:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)

    def rebuild(self, patient_id: str | None = None, progress: bool | None = None, wait: bool = True) -> dict[str, int]:
        """Throw away the persisted indexes (all, or one patient's) and build them again from the store.

        Cached vectors are kept (they are keyed by text hash and checked by ``check()``), so this re-encodes nothing.
        """
        with self._lock, self._writing(wait):
            man = self.manifest()
            if patient_id is None:
                emb = self.dir / "embeddings.sqlite"
                if emb.exists():
                    try:
                        bad = self.emb_cache.integrity()
                    except sqlite3.DatabaseError as e:
                        bad = str(e)
                    if bad:
                        self._reset_emb_cache(sqlite3.DatabaseError(bad))
                shutil.rmtree(self.dir / "patients", ignore_errors=True)
                self.manifest_path.unlink(missing_ok=True)
                self._cache.clear()
            else:
                entry = man["patients"].pop(patient_id, None)
                if entry is not None:
                    shutil.rmtree(self.dir / "patients" / entry["dir"], ignore_errors=True)
                shutil.rmtree(self.dir / "patients" / _patient_key(patient_id), ignore_errors=True)
                if self.manifest_path.exists():
                    _write_json(self.manifest_path, man)
                self._cache.pop(patient_id, None)
            return self.sync(progress=progress, patient_id=patient_id)

    def check(self) -> list[str]:
        """Problems with the persisted indexes compared with the store (empty when all is well)."""
        problems: list[str] = []
        if not self.dir.exists():
            return ["no search index yet (run `clinqa reindex`)"] if self._store_ids() else []
        try:
            raw = json.loads(self.manifest_path.read_text())
            if raw.get("format") != FORMAT:
                problems.append(f"{self.manifest_path}: unknown index format {raw.get('format')!r}")
        except FileNotFoundError:
            raw = None
            if self._store_ids():
                problems.append(f"{self.manifest_path}: missing")
        except (OSError, ValueError) as e:
            raw = None
            problems.append(f"{self.manifest_path}: unreadable ({e})")
        pats = (raw or {}).get("patients", {}) if isinstance(raw, dict) else {}
        store_ids = self._store_ids()
        for pid in sorted(set(store_ids) - set(pats)):
            if raw is not None:
                problems.append(f"patient {pid!r}: not indexed")
        for pid, entry in sorted(pats.items()):
            if pid not in store_ids:
                problems.append(f"patient {pid!r}: indexed but not in the store")
                continue
            if entry.get("digest") != _digest(store_ids[pid]):
                problems.append(f"patient {pid!r}: index is out of date with the store")
                continue
            try:
                self._load_bundle(pid, entry["digest"], self.dir / "patients" / entry["dir"])
            except DamagedIndexError as e:
                problems.append(str(e))
        known = {e.get("dir") for e in pats.values()}
        for d in sorted((self.dir / "patients").glob("*")) if (self.dir / "patients").exists() else []:
            if d.name not in known:
                problems.append(f"{d}: index folder of no indexed patient")
        for p in [*self.dir.glob("*.tmp"), *self.dir.glob("patients/*/*.tmp")]:
            problems.append(f"{p}: temp file left by an interrupted writer")
        emb = self.dir / "embeddings.sqlite"
        if emb.exists():
            try:
                frozen = "" if os.access(emb.parent, os.W_OK) else "&immutable=1"  # read-only workspace: no -shm
                con = sqlite3.connect(f"file:{emb}?mode=ro{frozen}", uri=True)
                try:
                    res = con.execute("PRAGMA integrity_check").fetchone()[0]
                finally:
                    con.close()
                if res != "ok":
                    problems.append(f"{emb}: {res}")
            except sqlite3.DatabaseError as e:
                problems.append(f"{emb}: {e}")
        return problems

    # -- query ------------------------------------------------------------------------------------
    def retrieve(
        self,
        patient_id: str,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        sections: Iterable[str] | None = None,
        date_range: tuple[dt.date | str | None, dt.date | str | None] | None = None,
        collapse_copies: bool = True,
        options: Iterable[str] | None = None,
    ) -> list[Hit]:
        """Top-k chunks of this patient's notes for the query (only this patient's chunks are ever searched).

        Copy-forward text (the same passage carried into later notes) would fill the top-k with one piece of
        evidence; with ``collapse_copies`` identical chunks count once, the best-ranked kept, the rest in ``copies``.

        ``options`` (the answer options of a multiple-choice question): one sub-query per option
        (``query + option``), and each chunk keeps its best sub-query score (CombMAX over reciprocal ranks).
        One query holding all options favours whichever options the notes mention most, and the evidence
        for the one option that matters (often a single negated sentence) sinks; per option, every
        option's best evidence competes for the top-k on equal terms.
        """
        if not isinstance(query, str) or not query.strip():
            raise InputError("empty query: type a question or search terms")
        if mode not in MODES:
            raise InputError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        if not isinstance(k, int) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        subs = [o.strip() for o in (options or []) if isinstance(o, str) and o.strip()]
        self.store.require_patient(patient_id)
        b = self._bundle(patient_id)
        if not b.chunks:
            return []
        allowed = self._filter(b.chunks.values(), sections, date_range)
        if allowed is not None and not allowed:
            return []
        n = len(b.chunks)
        depth = n if allowed is not None else min(n, max(5 * k, 50))
        if subs:
            ranked, raw = self._rank_options(b, query.strip(), subs, mode, depth, allowed)
        else:
            ranked, raw = self._rank(b, query.strip(), mode, depth, allowed)
        return self._hits(patient_id, b, ranked, raw, k, mode, collapse_copies)

    def _rank(self, b: _Bundle, query: str, mode: str, depth: int, allowed: set[str] | None,
              qvec: np.ndarray | None = None) -> tuple[list[tuple[str, float]], dict[str, dict[str, float]]]:
        """One query: the mode's ranking as (chunk id, score), and the raw per-mode scores."""
        dense_rank: list[str] = []
        lex_rank: list[str] = []
        raw: dict[str, dict[str, float]] = {}
        if mode in ("dense", "hybrid") and b.dense is not None:
            q = qvec if qvec is not None else self.embedder.encode([query], progress=False)[0]
            scores, ids = b.dense.search(q, depth)
            for s, i in zip(scores, ids):
                cid = b.id_map.get(int(i))
                if cid is not None and (allowed is None or cid in allowed):
                    dense_rank.append(cid)
                    raw.setdefault(cid, {})["dense"] = float(s)
        if mode in ("bm25", "hybrid"):
            for cid, s in b.lexical.search(expand_query(query, self.expander), depth):
                if allowed is None or cid in allowed:
                    lex_rank.append(cid)
                    raw.setdefault(cid, {})["bm25"] = s
        if mode == "dense":
            ranked = [(c, raw[c]["dense"]) for c in dense_rank]
        elif mode == "bm25":
            ranked = [(c, raw[c]["bm25"]) for c in lex_rank]
        else:
            ranked = rrf_fuse([dense_rank, lex_rank], self.rrf_k)
        return ranked, raw

    def _rank_options(self, b: _Bundle, query: str, options: list[str], mode: str, depth: int,
                      allowed: set[str] | None) -> tuple[list[tuple[str, float]], dict[str, dict[str, float]]]:
        """CombMAX over one sub-query per option: a chunk scores its best reciprocal rank; ties go to the chunk
        with the larger sum over sub-queries, then to the earlier option. Hybrid fuses (RRF) the dense and the
        BM25 CombMAX rankings, as a single query does."""
        if mode == "hybrid":
            dense, raw = self._rank_options(b, query, options, "dense", depth, allowed)
            lex, raw_lex = self._rank_options(b, query, options, "bm25", depth, allowed)
            for cid, m in raw_lex.items():
                raw.setdefault(cid, {}).update(m)
            return rrf_fuse([[c for c, _ in dense], [c for c, _ in lex]], self.rrf_k), raw
        queries = [f"{query} {o}" for o in options]
        vecs = None
        if mode == "dense" and b.dense is not None:
            vecs = self.embedder.encode(queries, progress=False)  # one batch for all options
        best: dict[str, float] = {}
        total: dict[str, float] = {}
        order: dict[str, int] = {}
        raw: dict[str, dict[str, float]] = {}
        for i, q in enumerate(queries):
            ranked, sub_raw = self._rank(b, q, mode, depth, allowed, None if vecs is None else vecs[i])
            for r, (cid, score) in enumerate(ranked, start=1):
                s = 1.0 / (self.rrf_k + r)
                best[cid] = max(best.get(cid, 0.0), s)
                total[cid] = total.get(cid, 0.0) + s
                order.setdefault(cid, i * depth + r)
                for m, v in sub_raw.get(cid, {}).items():
                    raw.setdefault(cid, {})[m] = max(raw.get(cid, {}).get(m, float("-inf")), v)
        ranked_all = sorted(best, key=lambda c: (-best[c], -total[c], order[c]))
        return [(c, best[c]) for c in ranked_all], raw

    def _hits(self, patient_id: str, b: _Bundle, ranked: list[tuple[str, float]], raw: dict[str, dict[str, float]],
              k: int, mode: str, collapse_copies: bool) -> list[Hit]:
        hits: list[Hit] = []
        seen: dict[str, Hit] = {}
        for cid, score in ranked:
            chunk = b.chunks[cid]
            if chunk.patient_id != patient_id:  # by construction impossible; never let it through
                raise RuntimeError(f"index for {patient_id} returned a chunk of another patient")
            key = _copy_key(chunk.text) if collapse_copies else cid
            if key in seen:
                seen[key].copies.append(cid)
                continue
            if len(hits) == k:
                continue  # keep scanning only to record copies of the hits already kept
            hit = Hit(chunk, float(score), len(hits) + 1, mode, raw.get(cid, {}))
            seen[key] = hit
            hits.append(hit)
        return hits

    @staticmethod
    def _filter(chunks: Iterable[Chunk], sections, date_range) -> set[str] | None:
        if sections is None and date_range is None:
            return None
        secs = None if sections is None else {s.lower().strip() for s in ([sections] if isinstance(sections, str) else sections)}
        lo = hi = None
        if date_range is not None:
            lo, hi = (dt.date.fromisoformat(d) if isinstance(d, str) else d for d in date_range)
        out = set()
        for c in chunks:
            if secs is not None and (c.section or "").lower() not in secs:
                continue
            if date_range is not None:
                if c.note_date is None or (lo and c.note_date < lo) or (hi and c.note_date > hi):
                    continue
            out.add(c.chunk_id)
        return out

    def close(self) -> None:
        if self._emb_cache is not None:
            self._emb_cache.close()
