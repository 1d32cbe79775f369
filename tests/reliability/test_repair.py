"""Damaged files: detected on open and rebuilt with a message; `clinqa check` reports, `clinqa reindex` repairs."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

NOTES = {
    "p1": {"texts": {"a": "History:\nAtrial fibrillation. On apixaban 5 mg twice daily.\n\nPlan:\nEcho in 3 months.",
                     "b": "Discharge:\nPneumonia treated with amoxicillin. Afebrile at discharge."}},
    "p2": {"texts": {"a": "Clinic:\nPsoriasis flare. Started methotrexate 15 mg weekly."}},
}


@pytest.fixture
def ws(tmp_path, make_ws):
    path = tmp_path / "lh.json"
    path.write_text(json.dumps(NOTES))
    w = make_ws(tmp_path / "ws")
    assert w.ingest([path], progress=False).added == 3
    return w


def _pdir(ws, pid):
    man = json.loads((ws.home / "index" / "manifest.json").read_text())
    return ws.home / "index" / "patients" / man["patients"][pid]["dir"]


def _fresh(ws, make_ws):
    ws.retriever.close()
    return make_ws(ws.home)


def cli(home, *args):
    env = {**os.environ, "CLINQA_HOME": str(home), "CLINQA_EMBEDDER": "hashing"}
    return subprocess.run([sys.executable, "-m", "clinqa.cli", *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "dense.faiss").write_bytes((d / "dense.faiss").read_bytes()[:40]),  # truncated
        lambda d: (d / "dense.faiss").write_bytes(b"not a faiss index at all"),
        lambda d: (d / "dense.faiss").unlink(),
        lambda d: (d / "bm25" / "chunk_ids.json").write_text("{oops"),
        lambda d: next((d / "bm25").glob("*.npy")).write_bytes(b"\x93NUMPY garbage"),
        lambda d: (d / "bm25" / "chunk_ids.json").write_text('["c_0000000000000000"]'),  # another chunk set
    ],
    ids=["faiss-truncated", "faiss-garbage", "faiss-missing", "bm25-ids-json", "bm25-npy", "bm25-wrong-ids"],
)
def test_damaged_index_is_rebuilt_on_open_with_a_message(ws, make_ws, capsys, damage):
    damage(_pdir(ws, "p1"))
    w2 = _fresh(ws, make_ws)
    hits = w2.retriever.retrieve("p1", "apixaban", k=1)
    assert hits and "apixaban" in hits[0].text
    err = capsys.readouterr().err
    assert "p1" in err or "dense.faiss" in err or "bm25" in err
    assert "rebuilding it from the store" in err
    assert w2.retriever.check() == []


def test_check_reports_and_reindex_repairs(ws):
    (_pdir(ws, "p2") / "dense.faiss").write_bytes(b"\x00" * 10)
    (ws.home / "index" / "stale.123-abc.tmp").write_text("left by a killed writer")
    ws.retriever.close()
    p = cli(ws.home, "check")
    assert p.returncode == 1
    assert "dense.faiss is damaged" in p.stdout and "temp file left" in p.stdout and "Traceback" not in p.stderr
    p = cli(ws.home, "reindex", "-q")
    assert p.returncode == 0 and "reindexed 2 patient(s)" in p.stdout
    p = cli(ws.home, "check")
    assert p.returncode == 0 and p.stdout.startswith("ok: store and indexes consistent")


def test_check_finds_store_inconsistencies(ws):
    con = ws.store.con
    con.execute("UPDATE chunks SET text = 'tampered' WHERE rowid = (SELECT MIN(rowid) FROM chunks)")
    con.execute("PRAGMA foreign_keys = OFF")
    con.execute("INSERT INTO facts(fact_id, note_id, patient_id, type, name, assertion, start, \"end\", data) "
                "VALUES ('f_x', 'nope/none', 'p1', 'DRUG', 'x', 'present', 0, 1, '{}')")
    con.execute("PRAGMA foreign_keys = ON")
    problems = ws.store.check()
    assert any("whose text does not match their note span" in p for p in problems)
    assert any("facts: 1 row(s) point to a missing parent" in p for p in problems)


def test_truncated_store_is_a_clear_error(tmp_path, ws):
    ws.store.close()
    ws.retriever.close()
    db = ws.home / "clinqa.sqlite"
    db.write_bytes(db.read_bytes()[:1000])
    for suffix in ("-wal", "-shm"):
        (ws.home / f"clinqa.sqlite{suffix}").unlink(missing_ok=True)
    p = cli(ws.home, "patients")
    assert p.returncode == 4 and "damaged" in p.stderr and "Traceback" not in p.stderr
    p = cli(ws.home, "check")
    assert p.returncode == 1 and "PROBLEM" in p.stdout and "damaged" in p.stdout


def test_damaged_embedding_cache_is_replaced(ws, make_ws, capsys):
    ws.retriever.close()
    emb = ws.home / "index" / "embeddings.sqlite"
    emb.write_bytes(b"garbage" * 100)
    for suffix in ("-wal", "-shm"):
        emb.with_name(emb.name + suffix).unlink(missing_ok=True)
    w2 = make_ws(ws.home)
    w2.retriever.rebuild()
    assert "embedding cache" in capsys.readouterr().err
    assert w2.retriever.retrieve("p2", "methotrexate", k=1)
