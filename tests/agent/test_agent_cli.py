"""`clinqa ask` as a user runs it (subprocess, extractive backend)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from test_agent_fixture import _write

pytestmark = pytest.mark.integration


def run(args, home):
    env = {**os.environ, "CLINQA_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "clinqa.cli", *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    d = tmp_path_factory.mktemp("askcli")
    p = run(["ingest", "--no-extract", "-q", str(_write(d / "p.json"))], d / "ws")
    assert p.returncode == 0, p.stderr
    return d / "ws"


def test_ask_prints_badge_and_numbered_citations(home):
    p = run(["ask", "patient_01", "Which antibiotic was started on admission?", "--backend", "extractive",
             "-o", "A=Vancomycin", "-o", "B=Ceftriaxone", "-o", "C=Meropenem"], home)
    assert p.returncode == 0, p.stderr
    first = p.stdout.splitlines()[0]
    assert first.startswith("[VERIFIED] B. Ceftriaxone")
    assert "[1] patient_01/text_0 (2021-03-02) chars " in p.stdout


def test_ask_json_and_errors(home):
    p = run(["ask", "patient_01", "What did the CT of the head show?", "--backend", "extractive", "--json"], home)
    assert p.returncode == 0, p.stderr
    ans = json.loads(p.stdout)
    assert ans["verification"]["status"] == "verified"
    c = ans["citations"][0]
    assert "intracranial hemorrhage" in c["quote"] and c["end"] - c["start"] == len(c["quote"])
    p = run(["ask", "nobody", "Anything?", "--backend", "extractive"], home)
    assert p.returncode == 2 and "unknown patient" in p.stderr
    p = run(["ask", "patient_01", "Which?", "--backend", "extractive", "-o", "A"], home)
    assert p.returncode == 2 and "A=" in p.stderr
