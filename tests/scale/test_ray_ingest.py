"""`clinqa ingest --ray` on a local 2-CPU Ray cluster: the same store as one process, restarts, bad input."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from clinqa.workspace import Workspace

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")]  # Ray's own settings

QUERIES = ["medication started for the new diagnosis", "adverse reaction after the first dose", "lab values out of range"]
NOTE_COLS = "patient_id, source_key, version, active, text, sha256, note_date, date_known, note_type, title, flags"
FACT_COLS = 'fact_id, note_id, patient_id, type, name, assertion, start, "end", date, data'
CHUNK_COLS = 'chunk_id, note_id, patient_id, start, "end", section, note_date, text'


def contents(ws: Workspace, note_source: bool = True) -> dict[str, Counter]:
    """Every stored row (timestamps and run ids aside) by content hash, counted: duplicates show as counts."""
    out = {}
    note_cols = NOTE_COLS + (", source" if note_source else "")
    for table, cols in (("patients", "patient_id, name, birthday, diagnosis, metadata"), ("notes", note_cols),
                        ("facts", FACT_COLS), ("chunks", CHUNK_COLS), ("questions", "patient_id, question_id, data")):
        rows = ws.store.con.execute(f"SELECT {cols} FROM {table}").fetchall()
        out[table] = Counter(hashlib.sha256(json.dumps(list(r)).encode()).hexdigest() for r in rows)
    return out


def hits(ws: Workspace) -> dict:
    return {(p.patient_id, q): [(h.chunk.chunk_id, round(h.score, 6)) for h in ws.retriever.retrieve(p.patient_id, q, k=5)]
            for p in ws.store.patients() for q in QUERIES}


def vectors(ws: Workspace) -> dict[str, np.ndarray]:
    cache = ws.retriever.emb_cache
    texts = [c.text for c in ws.store.chunks()]
    shas = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
    return cache.get_many(ws.retriever.embedder.name, shas)


def assert_same_store(ws: Workspace, ref: Workspace, note_source: bool = True) -> None:
    got, want = contents(ws, note_source), contents(ref, note_source)
    for table in want:
        assert got[table] == want[table], f"{table} differ"
        assert max(got[table].values()) == 1, f"duplicate {table} rows"
    assert ws.store.check() == [] and ws.retriever.check() == []
    assert hits(ws) == hits(ref)


def test_ray_ingest_stores_what_one_process_stores(cluster, hashing, synth_set, single_ws, tmp_path):
    from scale.ingest import ray_ingest

    ws = Workspace(tmp_path / "ws")
    summary = ray_ingest(ws, [synth_set], cluster, workers=2, progress=False)
    assert (summary.added, summary.unchanged, summary.failed) == (195, 0, [])
    assert_same_store(ws, single_ws)
    mine, ref = vectors(ws), vectors(single_ws)
    assert mine.keys() == ref.keys() and len(ref) > 1000
    assert all(np.allclose(mine[k], ref[k], atol=1e-6) for k in ref)
    again = ray_ingest(ws, [synth_set], cluster, workers=2, progress=False)
    assert (again.added, again.versioned, again.unchanged) == (0, 0, 195)


def test_rerun_after_partial_ingest_finishes_the_rest_on_the_gpu_layout(cluster, hashing, synth_set, single_ws,
                                                                        tmp_path):
    """The separate embedding pool (one actor per GPU on a GPU cluster; one CPU actor here) after a partial run."""
    from scale.ingest import RayIngest

    data = json.loads(synth_set.read_text())
    first = tmp_path / "first.json"
    first.write_text(json.dumps(dict(list(data.items())[:6])))
    ws = Workspace(tmp_path / "ws")
    done = ws.ingest([first], progress=False)
    summary = RayIngest(ws, cluster, workers=1, separate_embed=True).run([synth_set], progress=False)
    assert summary.unchanged == done.added > 0 and summary.added == 195 - done.added and not summary.failed
    assert_same_store(ws, single_ws, note_source=False)  # the first notes name the partial file as their source
    sources = Counter(r[0].split("#")[0] for r in ws.store.con.execute("SELECT source FROM notes"))
    assert sources == {str(first): done.added, str(synth_set): summary.added}


def _actor_pids(fragment: bytes) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and fragment in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds the actor process through /proc")
def test_killed_worker_mid_ingest_leaves_a_complete_store(cluster, hashing, synth_set, single_ws, tmp_path):
    from scale.ingest import ray_ingest

    ws = Workspace(tmp_path / "ws")
    killed: list[tuple[int, int]] = []
    finished = threading.Event()

    def kill_one_actor_mid_run():
        """SIGKILL an extraction actor once 20 notes are stored (the rest still on the actors)."""
        deadline = time.monotonic() + 120
        while not finished.is_set() and time.monotonic() < deadline:
            stored = ws.store.counts()["notes"]
            pids = _actor_pids(b"MapBatches(_DeriveEmbed)")
            if stored >= 20 and pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append((pids[0], stored))
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_one_actor_mid_run)
    killer.start()
    try:
        summary = ray_ingest(ws, [synth_set], cluster, workers=2, progress=False, batch_size=4)
    finally:
        finished.set()
        killer.join()
    assert killed and killed[0][1] < 195, "the actor was not killed mid-ingest"
    assert (summary.added, summary.failed) == (195, [])
    assert_same_store(ws, single_ws)


def _cli(args, home, **env):
    env = {**os.environ, "CLINQA_HOME": str(home), "CLINQA_EMBEDDER": "hashing", **env}
    return subprocess.run([sys.executable, "-m", "clinqa.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_bad_file_in_a_ray_ingest_is_reported_like_today(tmp_path):
    pytest.importorskip("ray")
    src = tmp_path / "in"
    (src / "p1").mkdir(parents=True)
    (src / "p1" / "2023-03-01_progress.txt").write_text("Progress note. HTN. Started lisinopril 10 mg daily.\n")
    (src / "p1" / "2023-03-09_discharge.txt").write_text("Discharged home on lisinopril 20 mg. No chest pain.\n")
    (src / "p1" / "2023-03-10_scan.txt").write_bytes(b"\x00\x01\x02binary\x00")
    (src / "broken.json").write_text("{oops")
    args = ["ingest", "-q", str(src / "p1"), str(src / "broken.json")]
    one = _cli(args, tmp_path / "one")
    ray = _cli([*args, "--ray", "local", "--ray-workers", "2"], tmp_path / "ray")
    assert one.returncode == ray.returncode == 3, ray.stderr
    assert ray.stdout == one.stdout
    assert "broken.json: malformed JSON" in ray.stdout and "ingested 2 new note(s)" in ray.stdout
    assert "scan.txt" in ray.stdout


def test_unreachable_ray_address_names_it_and_writes_nothing(tmp_path):
    pytest.importorskip("ray")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = tmp_path / "n.txt"
    src.write_text("Progress note.\n")
    for args in (["ingest", str(src)], ["eval", "--backend", "extractive", "--out", str(tmp_path / "run")]):
        p = _cli([*args, "--ray", f"127.0.0.1:{port}"], tmp_path / "home")
        assert p.returncode == 2 and f"127.0.0.1:{port}" in p.stderr and "cannot reach the Ray cluster" in p.stderr
        assert not (tmp_path / "home").exists() and not (tmp_path / "run").exists()
    p = _cli(["ingest", str(src), "--ray", "gpu-head"], tmp_path / "home")
    assert p.returncode == 2 and "bad Ray address 'gpu-head'" in p.stderr and not (tmp_path / "home").exists()
    p = _cli(["ingest", str(src), "--no-extract", "--ray", "local"], tmp_path / "home")
    assert p.returncode == 2 and "cannot be combined with --no-extract" in p.stderr and not (tmp_path / "home").exists()

