"""Shared fixtures. Models load offline; heavy fixtures are session-scoped."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "clinqa" / "samples"
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def sample_json() -> Path:
    path = SAMPLES / "sample_patients.json"
    if not path.is_file():
        pytest.fail(f"bundled sample data missing: {path}")
    return path


@pytest.fixture(scope="session")
def negex_dev() -> Path:
    path = SHARED / "negex" / "dev.tsv"
    if not path.is_file():
        pytest.skip("../shared/data/negex/dev.tsv not present")
    return path


@pytest.fixture
def light_ws(tmp_path):
    """A workspace that stores notes only (no extraction/indexing): fast."""
    from clinqa.workspace import Workspace

    ws = Workspace(tmp_path / "ws", extract=False, chunk=False)
    yield ws
    ws.store.close()
