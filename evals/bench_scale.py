"""Ingest throughput: one process vs `clinqa ingest --ray` with 1 and 2 workers on this machine.

    python -m evals.bench_scale                       # 6 synthetic patients (~80 notes), packaged MiniLM
    python -m evals.bench_scale --patients 15 --embedder hashing

Every run ingests the same synthetic set (evals.synth) into a fresh workspace (its own store and
embedding cache) and is timed end to end, index sync included. The per-note stage costs (extraction and
chunking, embedding, the store write) are measured apart in this process; the closing lines turn them
into the expected throughput on N machines and say where the bottleneck moves. GPU embedding is not
measured here (no GPU): give ``--gpu-chunks-per-s`` to include a figure measured elsewhere.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
from pathlib import Path


def _ingest_single(path: Path, home: Path) -> tuple[float, int]:
    from clinqa.workspace import Workspace

    t = time.perf_counter()
    summary = Workspace(home).ingest([path], progress=False)
    return time.perf_counter() - t, summary.added


def _stage_costs(home: Path, sample_chunks: int) -> dict[str, float]:
    """Seconds per note for derive (extract + chunk) and the store write, and per chunk for embedding."""
    from clinqa.workspace import Workspace
    from graph_store.store import PatientStore

    ws = Workspace(home)
    notes = [n for p in ws.store.patients() for n in ws.store.notes(p.patient_id)]
    t = time.perf_counter()
    derived = [ws.derive(n) for n in notes]
    derive_s = (time.perf_counter() - t) / len(notes)
    chunks = [c.text for _, cs in derived for c in cs]
    texts = chunks[:sample_chunks]
    ws.retriever.embedder.warm_up()
    t = time.perf_counter()
    ws.retriever.embedder.encode(texts, progress=False)
    embed_s = (time.perf_counter() - t) / len(texts)
    store = PatientStore(home.parent / "write-only.sqlite")
    patients = {p.patient_id: p for p in ws.store.patients()}
    t = time.perf_counter()
    for n, (facts, cs) in zip(notes, derived):
        store.write_note(copy.copy(n), patients[n.patient_id], facts, cs)
    write_s = (time.perf_counter() - t) / len(notes)
    return {"derive_s": derive_s, "embed_s": embed_s, "write_s": write_s, "chunks_per_note": len(chunks) / len(notes)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=6, help="synthetic patients (about 13 notes each)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--embedder", default=None, help="embedder (default: the workspace default, packaged MiniLM)")
    ap.add_argument("--gpu-chunks-per-s", type=float, default=None,
                    help="chunks/s one GPU embeds (measured elsewhere); used only in the scaling arithmetic")
    args = ap.parse_args(argv)
    if args.embedder:
        os.environ["CLINQA_EMBEDDER"] = args.embedder
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    with tempfile.TemporaryDirectory(prefix="bench_scale-") as tmp:
        _bench(Path(tmp), args)


def _bench(tmp: Path, args: argparse.Namespace) -> None:
    from clinqa.workspace import Workspace
    from evals.synth import generate
    from scale.cluster import connect
    from scale.ingest import ray_ingest

    path = tmp / "synth.json"
    path.write_text(json.dumps(generate(args.patients, args.seed)))
    cores = os.cpu_count() or 1

    single_s, n = _ingest_single(path, tmp / "single" / "ws")
    rows = [("single process", single_s)]
    t = time.perf_counter()
    with connect("local", num_cpus=cores) as cluster:
        start_s = time.perf_counter() - t
        for workers in (1, 2):
            t = time.perf_counter()
            summary = ray_ingest(Workspace(tmp / f"ray{workers}" / "ws"), [path], cluster, workers=workers,
                                 progress=False)
            assert summary.added == n and not summary.failed, summary.render()
            rows.append((f"ray, {workers} worker{'s' if workers > 1 else ''}", time.perf_counter() - t))
    costs = _stage_costs(tmp / "single" / "ws", sample_chunks=256)

    embedder = os.environ.get("CLINQA_EMBEDDER") or "all-MiniLM-L6-v2 (packaged)"
    print(f"ingest of {n} synthetic notes ({args.patients} patients), embedder {embedder}, {cores} CPU core(s)")
    print(f"{'run':<18} {'seconds':>8} {'notes/s':>8}")
    for name, s in rows:
        print(f"{name:<18} {s:>8.1f} {n / s:>8.1f}")
    print(f"ray cluster start (once per command, not in the rows): {start_s:.1f} s")
    print(f"overhead ratio, ray 1 worker / single process: {rows[1][1] / single_s:.2f}x; "
          f"speed-up ray 2 workers over ray 1: {rows[1][1] / rows[2][1]:.2f}x")

    d, e, w, cpn = costs["derive_s"], costs["embed_s"], costs["write_s"], costs["chunks_per_note"]
    print(f"per note: extract+chunk {d * 1000:.1f} ms, embed {e * cpn * 1000:.1f} ms ({cpn:.1f} chunks x "
          f"{e * 1000:.2f} ms, CPU), store write {w * 1000:.2f} ms")
    cpu_note = d + e * cpn
    print("scaling to N machines of C cores (one writer per patient shard):")
    print(f"  CPU only: each core does {1 / cpu_note:.1f} notes/s (extract + embed), so N x C x {1 / cpu_note:.1f} notes/s")
    print(f"  GPU embedding: each core extracts {1 / d:.1f} notes/s; the cluster needs "
          f"N x C x {1 / d:.1f} x {cpn:.1f} chunks/s of GPU embedding"
          + (f" = N x C x {cpn / d / args.gpu_chunks_per_s:.3f} GPUs at {args.gpu_chunks_per_s:.0f} chunks/s each"
             if args.gpu_chunks_per_s else ""))
    print(f"  one writer stores {1 / w:.0f} notes/s: it keeps up with {d / w:.1f} extracting cores; beyond "
          f"that add shards (S shards x {1 / w:.0f} notes/s), never a second writer on one SQLite file")


if __name__ == "__main__":
    main()
