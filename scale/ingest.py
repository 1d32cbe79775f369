"""`clinqa ingest --ray`: extraction and embedding on a Ray cluster, every write by this one process.

The driver (this process) reads the inputs with the same readers as a single-process ingest, so a bad file
is the same one-line problem in the same summary and the batch goes on (reading costs far less per note
than extraction and embedding, and planning needs the store, which only the writer opens). It plans each window of notes against the store (a
note stored with the same content is skipped before any work is sent out, which is what makes re-running a
partly finished ingest finish only the rest), then hands the notes to Ray Data:

    notes ─► [_Derive actors: extract + chunk, CPU, warm_up() once] ─► [_Embed actors: num_gpus=1] ─► driver
             (on a cluster without GPUs one actor class does both, so chunks never cross processes twice)

Results stream back in input order and go through ``Workspace.ingest_items``, the normal transactional
path: identity checks, versioning, one transaction per note with its facts and chunks. Chunk vectors go
into the workspace's embedding cache (keyed by model and text hash), so the index sync that ends the
ingest encodes nothing again. Ray Data restarts a killed actor and retries its batch; a result that
arrives twice is written once (the store skips a note already stored with the same content).

Many machines (design; what runs here is the one-shard case): partition patients into shards by a stable
hash of the patient id; each shard is one workspace (its own SQLite store, embedding cache and FAISS/BM25
indexes) with exactly one driver as its writer, all drivers sharing the cluster's extraction and GPU
embedding actors. A question reads only its patient's shard. Never two writers on one SQLite file.
"""
from __future__ import annotations

import copy
import hashlib
import pickle
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from clinqa.records import Chunk, Fact, Note
from clinqa.workspace import IngestSummary, Workspace, derive_records
from graph_store.readers import ReadItem, ReadProblem, read_path
from scale.cluster import Cluster, worker_env

WINDOW_NOTES = 5000  # notes planned and sent out at once: bounds driver memory; actors warm up once per window
BATCH_NOTES = 16  # notes per actor call: small enough to spread 2 workers, large enough to amortise a call


def _text_sha(text: str) -> str:
    """The embedding cache's key for a chunk text (retrieval.embedding.EmbeddingCache.embed hashes the same way)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _derive_one(extractor, chunker, blob: bytes) -> bytes:
    """Facts and chunks of one pickled note, or the exception it raised (re-raised by the driver's writer)."""
    note = pickle.loads(blob)
    try:
        return pickle.dumps(derive_records(note, extractor, chunker))
    except Exception as e:  # noqa: BLE001 - reported per note by Workspace._ingest_item, like a local failure
        try:
            return pickle.dumps(e)
        except Exception:  # noqa: BLE001 - an exception that cannot travel: the driver derives that note itself
            return pickle.dumps(None)


def _vectors(embedder, result_blob: bytes) -> bytes:
    """{text sha: vector} for the chunks of one derive result (empty for a failed note)."""
    result = pickle.loads(result_blob)
    if not isinstance(result, tuple):
        return pickle.dumps({})
    texts = {_text_sha(c.text): c.text for c in result[1]}
    vecs = embedder.encode(list(texts.values()), progress=False) if texts else []
    return pickle.dumps(dict(zip(texts.keys(), np.asarray(vecs, dtype=np.float32))))


class _Derive:
    """Ray actor: the workspace's extractor and chunker, built and warmed once per actor."""

    def __init__(self):
        from extractors import ClinicalExtractor
        from retrieval import NoteChunker

        self.extractor = ClinicalExtractor()
        self.extractor.warm_up()
        self.chunker = NoteChunker()

    def __call__(self, batch: dict) -> dict:
        return {"seq": batch["seq"], "result": [_derive_one(self.extractor, self.chunker, b) for b in batch["note"]]}


class _Embed:
    """Ray actor: the workspace's embedder (a GPU when the actor was given one)."""

    EMBEDDER = ""  # set by _for_embedder: a class attribute, so a restarted actor needs no object-store argument

    def __init__(self):
        from retrieval.embedding import make_embedder

        self.embedder = make_embedder(self.EMBEDDER)
        self.embedder.warm_up()

    def __call__(self, batch: dict) -> dict:
        return {"seq": batch["seq"], "result": batch["result"],
                "vecs": [_vectors(self.embedder, r) for r in batch["result"]]}


class _DeriveEmbed(_Derive):
    """Ray actor for clusters without GPUs: extract, chunk and embed in one CPU worker."""

    EMBEDDER = ""

    def __init__(self):
        super().__init__()
        self.embed = _for_embedder(_Embed, self.EMBEDDER)()

    def __call__(self, batch: dict) -> dict:
        return self.embed(super().__call__(batch))


def _for_embedder(cls: type, name: str) -> type:
    """The actor class bound to the workspace's embedder name (same vectors as the index sync would make)."""
    return type(cls.__name__, (cls,), {"EMBEDDER": name})


def _windows(items: Iterable[ReadItem | ReadProblem], size: int) -> Iterator[list[ReadItem | ReadProblem]]:
    window: list[ReadItem | ReadProblem] = []
    n = 0
    for item in items:
        window.append(item)
        n += len(item.notes) if isinstance(item, ReadItem) else 0
        if n >= size:
            yield window
            window, n = [], 0
    if window:
        yield window


class RayIngest:
    """One ``clinqa ingest --ray`` run against one workspace (one shard: this process is its only writer)."""

    def __init__(self, ws: Workspace, cluster: Cluster, workers: int | None = None, separate_embed: bool | None = None,
                 window: int = WINDOW_NOTES, batch_size: int = BATCH_NOTES):
        self.ws, self.cluster = ws, cluster
        self.separate_embed = cluster.gpus > 0 if separate_embed is None else separate_embed
        free = cluster.cpus - (0 if (cluster.gpus or not self.separate_embed) else 1)
        self.workers = max(1, min(workers or free, free))  # more actors than CPUs would wait for ever
        self.window, self.batch_size = window, batch_size
        self.embedder = ws.retriever.embedder
        self._derived: dict[tuple[str, str], bytes] = {}

    def run(self, paths: Iterable[str | Path], progress: bool = True) -> IngestSummary:
        items = (item for path in paths for item in read_path(path))
        return self.ws.ingest_items(self._stream(items), progress=progress, derive=self._derive)

    # -- driver side ------------------------------------------------------------------------------
    def _plan(self, window: list[ReadItem | ReadProblem]) -> tuple[list[Note], list[int]]:
        """Notes to send out (new or changed, ids assigned as the writer will assign them) and, per item, the
        index of its last note sent (-1: nothing to wait for). A source key seen twice in one window is sent
        once; its later copy is derived by the writer after the first is stored (its version depends on it)."""
        send: list[Note] = []
        last: list[int] = []
        seen: set[tuple[str, str]] = set()
        for item in window:
            mark = -1
            if isinstance(item, ReadItem) and self.ws.identity_problem(item) is None:
                for note in item.notes:
                    key = (note.patient_id, note.source_key)
                    if key in seen or self.ws.store.plan_note(note) == "unchanged":
                        continue
                    seen.add(key)
                    planned = self.ws.store.assign_note_id(copy.copy(note))
                    send.append(planned)
                    mark = len(send) - 1
            last.append(mark)
        return send, last

    def _rows(self, notes: list[Note]) -> Iterator[dict]:
        import ray.data

        ctx = ray.data.DataContext.get_current()
        saved = (ctx.execution_options.preserve_order, ctx.enable_progress_bars)
        ctx.execution_options.preserve_order = True  # the writer stores notes in input order, like one process
        ctx.enable_progress_bars = False  # the ingest's own bar counts the notes as they are stored
        try:
            ds = ray.data.from_items([{"seq": i, "note": pickle.dumps(n)} for i, n in enumerate(notes)])
            name, env = self.embedder.model_name_or_path, worker_env()
            if self.separate_embed:
                ds = ds.map_batches(_Derive, batch_size=self.batch_size, batch_format="numpy", num_cpus=1,
                                    compute=ray.data.ActorPoolStrategy(size=self.workers), runtime_env=env)
                gpu = self.cluster.gpus > 0
                ds = ds.map_batches(_for_embedder(_Embed, name), batch_size=self.batch_size * 4,
                                    batch_format="numpy", num_gpus=1 if gpu else 0, num_cpus=0 if gpu else 1,
                                    compute=ray.data.ActorPoolStrategy(size=max(1, self.cluster.gpus)),
                                    runtime_env=env)
            else:
                ds = ds.map_batches(_for_embedder(_DeriveEmbed, name), batch_size=self.batch_size,
                                    batch_format="numpy", num_cpus=1,
                                    compute=ray.data.ActorPoolStrategy(size=self.workers), runtime_env=env)
            yield from ds.iter_rows()
        finally:
            ctx.execution_options.preserve_order, ctx.enable_progress_bars = saved

    def _stream(self, items: Iterable[ReadItem | ReadProblem]) -> Iterator[ReadItem | ReadProblem]:
        """The items again, each released to the writer once every note of it sent out has come back."""
        for window in _windows(items, self.window):
            self._derived.clear()
            notes, last = self._plan(window)
            pending = deque(zip(window, last))
            vecs: dict[str, np.ndarray] = {}
            rows = self._rows(notes) if notes else iter(())
            for row in rows:
                note = notes[int(row["seq"])]
                self._derived[(note.note_id, note.sha256)] = row["result"]
                vecs.update(pickle.loads(row["vecs"]))
                if pending and pending[0][1] <= int(row["seq"]):
                    self._cache_vectors(vecs)
                    while pending and pending[0][1] <= int(row["seq"]):
                        yield pending.popleft()[0]
            self._cache_vectors(vecs)
            while pending:
                yield pending.popleft()[0]

    def _cache_vectors(self, vecs: dict[str, np.ndarray]) -> None:
        """Store vectors before their notes commit, so the closing index sync finds every one cached."""
        if vecs:
            self.ws.retriever.emb_cache.put_many(self.embedder.name, vecs)
            vecs.clear()

    def _derive(self, note: Note) -> tuple[list[Fact], list[Chunk]]:
        """The writer's derive step: the cluster's result for this note id and content, else derived here."""
        blob = self._derived.pop((note.note_id, note.sha256), None)
        result = pickle.loads(blob) if blob is not None else None
        if isinstance(result, BaseException):
            raise result
        return result if result is not None else self.ws.derive(note)


def ray_ingest(ws: Workspace, paths: Iterable[str | Path], cluster: Cluster, workers: int | None = None,
               progress: bool = True, **kw) -> IngestSummary:
    """Ingest ``paths`` into ``ws`` with extraction and embedding on ``cluster`` (see the module docstring)."""
    return RayIngest(ws, cluster, workers=workers, **kw).run(paths, progress=progress)
