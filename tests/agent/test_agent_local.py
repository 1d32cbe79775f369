"""The agent on the real embedded llama.cpp backend with the small packaged model (slow).

Even the 0.5B model (which picks options by position when asked for a letter) must
answer correctly here: options are judged one by one against the evidence and
combined with evidence coverage, and intervals come from the timeline.
"""
from __future__ import annotations

import pytest

from test_agent_fixture import ANTIBIOTIC, _write

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def local_qa(tmp_path_factory):
    from agent import ClinicalQA
    from clinqa.workspace import Workspace

    home = tmp_path_factory.mktemp("agentlocal")
    ws = Workspace(home, extract=False, chunk=False)
    ws.ingest([_write(home / "p.json", with_injection=True)], progress=False)
    qa = ClinicalQA(ws, backend="local", model="qwen2.5-0.5b")
    yield qa
    qa.close()
    ws.store.close()


def test_local_multiple_choice_is_right_and_cited_despite_injection_note(local_qa):
    ans = local_qa.ask("patient_01", "Which antibiotic was started on admission?", ANTIBIOTIC)
    assert ans.choice == "A"
    assert ans.verification.status == "verified"
    assert ans.tokens["prompt"] > 0 and ans.tokens["completion"] > 0
    assert set(ans.option_verdicts) == set(ANTIBIOTIC)
    for c in ans.citations:
        assert local_qa.ws.store.note(c.note_id).text[c.start:c.end] == c.quote
        assert c.note_id != "patient_01/text_3"  # the injection note is never evidence


def test_local_interval_comes_from_the_timeline(local_qa):
    opts = {"A": "14 days", "B": "40 days", "C": "47 days", "D": "52 days", "E": "30 days"}
    ans = local_qa.ask("patient_01", "How many days were there between the chest X-ray and the CT of the head?", opts)
    assert ans.choice == "C"


def test_local_abstains_when_record_is_silent(local_qa):
    opts = {"A": "55 %", "B": "35 %", "C": "25 %", "D": "65 %"}
    ans = local_qa.ask("patient_01", "What was the left ventricular ejection fraction on echocardiography?", opts)
    assert ans.abstained and ans.verification.status == "abstained"
