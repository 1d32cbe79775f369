"""Fixtures for the Ray scale-out tests: a local 2-CPU cluster, a ~200-note synth set (module scope: the
cluster and the embedder setting end with their module, never leaking into other packages' tests)."""
from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster (2 CPUs, loopback only, no dashboard), shut down after the session."""
    pytest.importorskip("ray")
    import ray

    from scale.cluster import connect

    with connect("local", num_cpus=2) as c:
        yield c
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def hashing():
    """The model-free embedder for this session's workspaces (the equivalence is what is tested, not recall)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLINQA_EMBEDDER", "hashing")
        yield


@pytest.fixture(scope="module")
def synth_set(tmp_path_factory):
    """15 synthetic patients, 195 notes (evals.synth, deterministic by seed)."""
    from evals.synth import generate

    path = tmp_path_factory.mktemp("synth") / "synth.json"
    path.write_text(json.dumps(generate(15, seed=3)))
    return path


@pytest.fixture(scope="module")
def single_ws(tmp_path_factory, synth_set, hashing):
    """The synth set ingested by the single-process path: the reference every Ray ingest is compared with."""
    from clinqa.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("single") / "ws")
    summary = ws.ingest([synth_set], progress=False)
    assert summary.added == 195 and not summary.failed
    return ws
