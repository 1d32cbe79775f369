"""A full disk and a read-only workspace: their own clear messages, nothing half-written, queries still work."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from clinqa.errors import StorageError


def _lh(path: Path, n_patients: int, n_notes: int, filler: int = 30) -> Path:
    data = {f"p{i}": {"texts": {f"t{j}": f"Note {j} of p{i}. " + "Aspirin daily, blood pressure stable. " * filler
                                for j in range(n_notes)}} for i in range(n_patients)}
    path.write_text(json.dumps(data))
    return path


def cli(home, *args):
    env = {**os.environ, "CLINQA_HOME": str(home), "CLINQA_EMBEDDER": "hashing"}
    return subprocess.run([sys.executable, "-m", "clinqa.cli", *args], capture_output=True, text=True, env=env, timeout=300)


def test_full_store_stops_the_batch_with_its_own_message(tmp_path, make_ws):
    ws = make_ws(tmp_path / "ws")
    ws.ingest([_lh(tmp_path / "a.json", 1, 2)], progress=False)
    pages = ws.store.con.execute("PRAGMA page_count").fetchone()[0]
    ws.store.con.execute(f"PRAGMA max_page_count = {pages + 8}")  # SQLite then reports SQLITE_FULL, as on a full disk
    with pytest.raises(StorageError) as e:
        ws.ingest([_lh(tmp_path / "b.json", 5, 10)], progress=False)
    msg = str(e.value)
    assert msg.startswith("disk full") and "FOREIGN KEY" not in msg and "stored before it" in msg
    assert ws.store.check() == []
    for n in ws.store.notes("p0"):  # every stored note is complete: text and its chunks
        assert n.text.startswith(f"Note {n.source_key[1:]} of p0.")


@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs (root only): a real full disk and a real read-only mount."""
    mnt = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root and mount to make a tmpfs")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_full_disk_from_the_command_line(tmp_path, tmpfs):
    p = cli(tmpfs / "ws", "ingest", "-q", str(_lh(tmp_path / "big.json", 30, 10)))
    assert p.returncode == 4 and "error: disk full" in p.stderr and "Traceback" not in p.stderr
    assert "FOREIGN KEY" not in p.stderr
    subprocess.run(["mount", "-o", "remount,size=64m", str(tmpfs)], check=True)
    p = cli(tmpfs / "ws", "check")
    assert p.returncode in (0, 1) and "Traceback" not in p.stderr
    assert not any("clinqa.sqlite" in line for line in p.stdout.splitlines() if line.startswith("PROBLEM"))


def test_read_only_workspace(tmp_path, tmpfs):
    home = tmpfs / "ws"
    assert cli(home, "ingest", "-q", str(_lh(tmp_path / "a.json", 1, 2, filler=2))).returncode == 0
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    p = cli(home, "ingest", "-q", str(_lh(tmp_path / "b.json", 2, 2, filler=2)))
    assert p.returncode == 4 and "read-only" in p.stderr and "Traceback" not in p.stderr
    p = cli(home, "delete", "p0", "--yes")
    assert p.returncode == 4 and "read-only" in p.stderr
    p = cli(home, "notes", "p0")  # reading still works
    assert p.returncode == 0 and "p0/t0" in p.stdout
    p = cli(home, "search", "p0", "aspirin")
    assert p.returncode == 0 and "p0/t" in p.stdout
