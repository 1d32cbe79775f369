"""Retrieval benchmark: indexing throughput (chunks/s) and query latency p50/p95.

Part 1, one 50-note patient through the real pipeline (chunker -> store -> embedder ->
FAISS + BM25 under a temporary workspace): chunking and indexing throughput (cold
embedding cache, then rebuilt from the cache) and warm query latency per mode.

Part 2, "10,000 patients' worth of chunks" in one approximate (IVF) DenseIndex, the
class the retriever uses for large collections. Encoding millions of chunks with
MiniLM on a CPU would take hours, so the vectors are synthetic: 384-d, unit-norm,
drawn from a mixture of topic directions like real chunk embeddings. Reported: add
throughput, query latency p50/p95 and recall@10 against exact search.

    python -m evals.bench_retrieval [--notes 50] [--patients 10000] [--chunks-per-patient N] [--nprobe 16]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "retrieval" / "data" / "longhealth_mini.json"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def make_patient_notes(n_notes: int, seed: int = 0):
    """n notes for one patient: the LongHealth-style fixture letters with shifted dates and perturbed numbers."""
    from clinqa.records import Note

    data = json.loads(FIXTURE.read_text())
    templates = [t for p in data.values() for t in p["texts"].values()]
    questions = [q["question"] for p in data.values() for q in p["questions"]]
    rng = random.Random(seed)
    notes = []
    for i in range(n_notes):
        text = templates[i % len(templates)]
        text = re.sub(r"\d+(?:\.\d+)?", lambda m: str(round(float(m.group(0)) * rng.uniform(0.7, 1.3), 1)), text)
        text = f"Visit {i + 1}\n\n" + text
        notes.append(Note("bench_patient", f"note_{i:03d}", text, note_date=dt.date(2018, 1, 1) + dt.timedelta(days=20 * i)))
    return notes, questions


def bench_patient(n_notes: int, n_queries: int, embedder_name: str | None) -> dict:
    from clinqa.records import Patient
    from clinqa.workspace import Workspace
    from graph_store.readers import ReadItem
    from retrieval import NoteChunker, Retriever
    from retrieval.embedding import make_embedder

    notes, questions = make_patient_notes(n_notes)
    embedder = make_embedder(embedder_name)
    embedder.warm_up()
    embedder.encode(["warm up"])
    out: dict = {"notes": n_notes, "embedder": embedder.name}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws", extract=False)
        ws._chunker = NoteChunker()  # noqa: SLF001
        ws._retriever = Retriever(ws, embedder=embedder)  # noqa: SLF001
        t = time.perf_counter()
        n_chunks = sum(len(NoteChunker().run(n, [])) for n in notes)
        t_chunk = time.perf_counter() - t
        t = time.perf_counter()
        ws.ingest_items([ReadItem(Patient("bench_patient"), notes)], progress=False)  # store + embed + FAISS + BM25
        t_ingest = time.perf_counter() - t
        assert len(ws.store.chunks("bench_patient")) == n_chunks
        shutil.rmtree(ws.home / "index" / "patients")
        (ws.home / "index" / "manifest.json").unlink()
        t = time.perf_counter()
        ws.retriever.sync(progress=False)  # rebuild from the embedding cache (e.g. after losing the index folder)
        t_rebuild = time.perf_counter() - t
        out.update(chunks=n_chunks, chunking_chunks_per_s=n_chunks / t_chunk,
                   ingest_index_chunks_per_s=n_chunks / t_ingest, rebuild_from_cache_chunks_per_s=n_chunks / t_rebuild)
        qs = [questions[i % len(questions)] for i in range(n_queries)]
        ws.retriever.retrieve("bench_patient", "warm up", k=10)
        for mode in ("dense", "bm25", "hybrid"):
            lat = []
            for q in qs:
                t = time.perf_counter()
                ws.retriever.retrieve("bench_patient", q, k=10, mode=mode)
                lat.append((time.perf_counter() - t) * 1000)
            out[f"{mode}_ms"] = (pct(lat, 50), pct(lat, 95))
        # a restarted process: first query loads the persisted indexes from disk
        ws2 = Workspace(ws.home, extract=False)
        r2 = Retriever(ws2, embedder=embedder)
        t = time.perf_counter()
        r2.retrieve("bench_patient", qs[0], k=10)
        out["first_query_after_restart_ms"] = (time.perf_counter() - t) * 1000
        ws.store.close()
        ws2.store.close()
    return out


def synthetic_batch(rng: np.random.Generator, centers: np.ndarray, n: int, noise: float = 0.6) -> np.ndarray:
    v = centers[rng.integers(0, len(centers), n)] + noise * rng.standard_normal((n, centers.shape[1])).astype(np.float32) / np.sqrt(centers.shape[1])
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32)


def bench_scale(n_total: int, nprobe: int, n_queries: int, dim: int = 384, batch: int = 200_000) -> dict:
    from retrieval.dense import DenseIndex

    rng = np.random.default_rng(0)
    centers = rng.standard_normal((4000, dim)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    queries = synthetic_batch(np.random.default_rng(1), centers, n_queries)
    index = DenseIndex(dim, kind="ivf", nprobe=nprobe)
    t = time.perf_counter()
    index.prepare_ivf(synthetic_batch(np.random.default_rng(2), centers, min(n_total, 262_144)), n_total)
    t_train = time.perf_counter() - t
    top_s = np.full((n_queries, 10), -np.inf, dtype=np.float32)
    top_i = np.full((n_queries, 10), -1, dtype=np.int64)
    t_add = 0.0
    for start in range(0, n_total, batch):
        n = min(batch, n_total - start)
        vecs = synthetic_batch(np.random.default_rng(100 + start // batch), centers, n)
        ids = np.arange(start, start + n, dtype=np.int64)
        t = time.perf_counter()
        index.add(ids, vecs)
        t_add += time.perf_counter() - t
        s = queries @ vecs.T  # exact ground truth, merged batch by batch
        cand_s = np.concatenate([top_s, s], axis=1)
        cand_i = np.concatenate([top_i, np.broadcast_to(ids, s.shape)], axis=1)
        order = np.argsort(-cand_s, axis=1)[:, :10]
        top_s = np.take_along_axis(cand_s, order, 1)
        top_i = np.take_along_axis(cand_i, order, 1)
    lat, rec = [], []
    index.search(queries[0], 10)
    for qi in range(n_queries):
        t = time.perf_counter()
        _, ids = index.search(queries[qi], 10)
        lat.append((time.perf_counter() - t) * 1000)
        rec.append(len(set(ids.tolist()) & set(top_i[qi].tolist())) / 10)
    nlist = index.index.nlist
    return {"vectors": n_total, "nlist": int(nlist), "nprobe": nprobe, "train_s": t_train,
            "add_vectors_per_s": n_total / t_add, "query_ms": (pct(lat, 50), pct(lat, 95)),
            "recall@10_vs_exact": float(np.mean(rec)), "index_gb": n_total * dim * 4 / 1e9}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notes", type=int, default=50)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--embedder", default=None)
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--chunks-per-patient", type=int, default=None, help="default: as measured for the 50-note patient")
    ap.add_argument("--nprobe", type=int, default=16)
    ap.add_argument("--skip-scale", action="store_true")
    args = ap.parse_args(argv)

    p = bench_patient(args.notes, args.queries, args.embedder)
    print(f"== one patient: {p['notes']} notes, {p['chunks']} chunks, embedder {p['embedder']} "
          f"(CPU threads: {os.cpu_count()})")
    print(f"chunking                    {p['chunking_chunks_per_s']:>10.0f} chunks/s")
    print(f"ingest + index (cold cache) {p['ingest_index_chunks_per_s']:>10.1f} chunks/s   (store, encode, FAISS, BM25)")
    print(f"rebuild from embedding cache{p['rebuild_from_cache_chunks_per_s']:>10.0f} chunks/s")
    print(f"first query after restart   {p['first_query_after_restart_ms']:>10.1f} ms")
    print(f"{'query latency (k=10)':<28}{'p50 ms':>10}{'p95 ms':>10}")
    for mode in ("dense", "bm25", "hybrid"):
        a, b = p[f"{mode}_ms"]
        print(f"  {mode:<26}{a:>10.2f}{b:>10.2f}")
    if args.skip_scale:
        return 0
    cpp = args.chunks_per_patient or p["chunks"]
    n_total = args.patients * cpp
    s = bench_scale(n_total, args.nprobe, min(args.queries, 200))
    print(f"== approximate index: {args.patients} patients x {cpp} chunks = {s['vectors']:,} vectors "
          f"(synthetic 384-d), IVFFlat nlist={s['nlist']} nprobe={s['nprobe']}, ~{s['index_gb']:.1f} GB")
    print(f"train                       {s['train_s']:>10.1f} s")
    print(f"add                         {s['add_vectors_per_s']:>10.0f} vectors/s")
    print(f"query latency (k=10)        p50 {s['query_ms'][0]:.2f} ms   p95 {s['query_ms'][1]:.2f} ms")
    print(f"recall@10 vs exact search   {s['recall@10_vs_exact']:>10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
