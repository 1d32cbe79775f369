"""The reliability script's cases as tests: every generated bad input handled with nothing lost; kill -9."""
from __future__ import annotations

import pytest

from evals import reliability

CASES = reliability.bad_inputs()


@pytest.mark.parametrize("name, build", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_handled_and_nothing_is_lost(tmp_path, name, build, monkeypatch):
    monkeypatch.setenv("CLINQA_EMBEDDER", "hashing")
    handled, lost, why = reliability.run_bad_input(name, build, tmp_path)
    assert handled, why
    assert lost == 0


def test_the_generated_set_covers_the_issue_list():
    names = " ".join(n for n, _ in CASES)
    for needed in ("FHIR entry is a string", "FHIR entry not a list", "FHIR subject as string", "FHIR content as string",
                   "FHIR type as string", "LH text_dates as list", "'pt/001' vs 'pt_001'", "'Müller' vs 'Möller'",
                   "all-non-ASCII folder names", "lab 1.txt vs lab_1.txt", "one 6 MB line", "empty .json"):
        assert needed in names
    assert len(CASES) >= 81  # at least the size of the set the issue was filed with


@pytest.mark.parametrize("when", ["ingest", "indexing"])
def test_kill_9_leaves_a_consistent_store_that_the_next_run_completes(tmp_path, monkeypatch, when):
    monkeypatch.setenv("CLINQA_EMBEDDER", "hashing")
    assert reliability.fault_kill(tmp_path, when) is None
