"""Writers in several processes: the workspace lock serialises them; no temp-file clashes, no false failures."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from clinqa.workspace import Workspace

INGEST = (
    "import sys; from clinqa.workspace import Workspace; "
    "ws = Workspace(sys.argv[1], extract=False); s = ws.ingest(sys.argv[2:], progress=False); "
    "print(s.render()); sys.exit(s.exit_code)"
)


def _env(**extra):
    return {**os.environ, "CLINQA_EMBEDDER": "hashing", "HF_HUB_OFFLINE": "1", **extra}


def _start(home, *paths, **env):
    return subprocess.Popen([sys.executable, "-c", INGEST, str(home), *map(str, paths)], env=_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _lh_file(path, pids, n_notes=20):
    import json

    data = {pid: {"texts": {f"text_{i}": f"Note {i} of {pid}. Sentence one about aspirin. Sentence two about "
                            f"blood pressure {100 + i}/80.\n\nPlan:\nReview in {i} weeks." for i in range(n_notes)}}
            for pid in pids}
    path.write_text(json.dumps(data))
    return path


def _consistent(home):
    ws = Workspace(home, extract=False, chunk=False)
    problems = ws.store.check()
    from retrieval import Retriever
    from retrieval.embedding import HashingEmbedder

    problems += Retriever(ws, embedder=HashingEmbedder()).check()
    return problems


def test_same_file_twice_at_once(tmp_path):
    src = _lh_file(tmp_path / "same.json", ["p1", "p2"])
    home = tmp_path / "ws"
    procs = [_start(home, src) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    text = "".join(o + e for o, e in outs)
    assert "FAILED" not in text and "Traceback" not in text and "FileExistsError" not in text
    added = sorted(int(o.split("ingested ")[1].split(" ")[0]) for o, _ in outs)
    assert added == [0, 40]  # one process ingested everything, the other found it unchanged
    assert _consistent(home) == []


def test_different_patients_at_once(tmp_path):
    home = tmp_path / "ws"
    files = [_lh_file(tmp_path / f"f{i}.json", [f"q{i}a", f"q{i}b"], 10) for i in range(3)]
    procs = [_start(home, f) for f in files]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    ws = Workspace(home, extract=False, chunk=False)
    assert ws.store.counts()["notes"] == 60
    assert _consistent(home) == []


def test_second_writer_waits_then_gives_up_with_a_clear_message(tmp_path):
    home = tmp_path / "ws"
    src = _lh_file(tmp_path / "a.json", ["p1"], 2)
    ws = Workspace(home, extract=False, chunk=False)
    with ws.lock.hold():
        p = subprocess.run([sys.executable, "-m", "clinqa.cli", "ingest", "-q", str(src)], capture_output=True, text=True,
                           env=_env(CLINQA_HOME=str(home), CLINQA_LOCK_TIMEOUT="1"), timeout=300)
    assert p.returncode == 5
    assert "waiting for another clinqa process" in p.stderr and "try again later" in p.stderr
    assert "Traceback" not in p.stderr
    assert ws.store.counts()["notes"] == 0


def test_waiting_writer_proceeds_once_the_lock_is_free(tmp_path):
    home = tmp_path / "ws"
    src = _lh_file(tmp_path / "a.json", ["p1"], 2)
    ws = Workspace(home, extract=False, chunk=False)
    with ws.lock.hold():
        proc = _start(home, src)
        time.sleep(2)
        assert proc.poll() is None  # blocked on the lock
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "waiting for another clinqa process" in err
    assert ws.store.counts()["notes"] == 2


def test_a_new_store_is_created_by_one_process_at_a_time(tmp_path):
    from clinqa.workspace import WorkspaceLock

    home = tmp_path / "ws"
    home.mkdir()
    with WorkspaceLock(home).hold():
        proc = _start(home, _lh_file(tmp_path / "a.json", ["p1"], 2))
        time.sleep(2)
        assert proc.poll() is None and not (home / "clinqa.sqlite").exists()  # waits before creating the store
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "waiting for another clinqa process" in err
    assert Workspace(home, extract=False, chunk=False).store.counts()["notes"] == 2


def test_queries_go_on_while_a_writer_holds_the_lock(tmp_path, make_ws):
    ws = make_ws(tmp_path / "ws")
    ws.ingest([_lh_file(tmp_path / "a.json", ["p1"], 3)], progress=False)
    other = Workspace(ws.home, extract=False)  # a second writer changes the store but has not synced the index yet
    other.sync_indexes = lambda **_: None
    from graph_store.readers import read_path

    other.ingest_items(read_path(_lh_file(tmp_path / "b.json", ["p1"], 5)), progress=False)
    with other.lock.hold():
        hits = ws.retriever.retrieve("p1", "blood pressure 104/80", k=1)  # stale index, lock busy: built in memory
    assert hits and hits[0].note_id == "p1/text_4"
    assert not list((ws.home / "index").rglob("*.tmp"))
