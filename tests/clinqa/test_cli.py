"""The `clinqa` console script, run as a user would (subprocess)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run(args, home, check=True):
    env = {**os.environ, "CLINQA_HOME": str(home)}
    p = subprocess.run([sys.executable, "-m", "clinqa.cli", *args], capture_output=True, text=True, env=env, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"clinqa {args} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture
def notes_dir(tmp_path):
    d = tmp_path / "in" / "p1"
    d.mkdir(parents=True)
    (d / "2023-03-01_progress.txt").write_text("Progress note. HTN. Started lisinopril 10 mg daily.\n")
    (d / "2023-03-09_discharge.md").write_text("---\ndate: 2023-03-09\ntype: discharge_summary\n---\nDischarged home.\n")
    (tmp_path / "in" / "broken.json").write_text("{oops")
    return tmp_path / "in"


def test_ingest_list_delete(tmp_path, notes_dir):
    home = tmp_path / "ws"
    p = run(["ingest", "--no-extract", "-q", str(notes_dir), str(notes_dir / "broken.json")], home, check=False)
    assert "ingested 2 new note(s)" in p.stdout and "broken.json: malformed JSON" in p.stdout
    assert p.returncode == 3  # partly failed: never 0 while a file failed
    p = run(["patients"], home)
    assert "p1" in p.stdout and "2023-03-01" in p.stdout and "2023-03-09" in p.stdout
    p = run(["notes", "p1"], home)
    assert "discharge_summary" in p.stdout and "p1/2023-03-01_progress.txt" in p.stdout
    p = run(["ingest", "--no-extract", "-q", str(notes_dir)], home)
    assert "2 unchanged" in p.stdout
    run(["delete", "p1", "--note", "p1/2023-03-01_progress.txt", "--yes"], home)
    assert "2023-03-01_progress" not in run(["notes", "p1"], home).stdout
    run(["delete", "p1", "--yes"], home)
    assert "no patients yet" in run(["patients"], home).stdout


def test_user_errors_are_clean(tmp_path):
    home = tmp_path / "ws"
    p = run(["notes", "ghost"], home, check=False)
    assert p.returncode == 2 and "unknown patient 'ghost'" in p.stderr and "Traceback" not in p.stderr
    p = run(["ingest", "-q", str(tmp_path / "missing.txt")], home, check=False)
    assert p.returncode == 1 and "no such file" in p.stdout
    p = run(["eval", "--tasks", "7"], home, check=False)
    assert p.returncode == 2 and "subset of 1,2,3" in (p.stdout + p.stderr)
