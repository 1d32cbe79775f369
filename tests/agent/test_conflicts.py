"""agent.conflicts: a sentence that the record's allergy or medication list contradicts is a conflict; a record
whose lists and prose agree, or whose prose reports a change, raises none. Notes are ingested with the real
extractors (facts typed by section, assertion and change), without retrieval indexes."""
from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

import pytest

from agent.render import render_answer
from ui import render as ui_render

LISTS = ("Admission note\n\nAllergies:\nPenicillin (anaphylaxis).\n\nMedications:\nApixaban 5 mg twice daily.\n"
         "Metoprolol succinate 50 mg once daily.\n\nHistory:\nParoxysmal atrial fibrillation. {claim}\n")
_ids = itertools.count()


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    """``record({key: (date, text)}) -> (patient id, toolbox, checker)``: one patient per call, one workspace."""
    from agent.conflicts import ConflictChecker
    from agent.tools import Toolbox
    from clinqa.workspace import Workspace

    home = tmp_path_factory.mktemp("conflicts")
    ws = Workspace(home / "ws", extract=True, chunk=False)
    tools = Toolbox(ws)
    checker = ConflictChecker(tools)

    def build(notes: dict[str, tuple[str, str]]):
        pid = f"p{next(_ids)}"
        path = home / f"{pid}.json"
        path.write_text(json.dumps({pid: {"name": f"Patient {pid}", "texts": {k: t for k, (_, t) in notes.items()},
                                          "text_dates": {k: d for k, (d, _) in notes.items()}}}))
        summary = ws.ingest([path], progress=False)
        assert not summary.failed
        return pid, tools, checker

    yield build
    ws.store.close()


def conflicts_in(record, notes: dict[str, tuple[str, str]], key: str | None = None):
    """The conflicts whose claim lies in note ``key`` (default: every note), over whole notes."""
    pid, tools, checker = record(notes)
    spans = [SimpleNamespace(note_id=n.note_id, start=0, end=len(n.text)) for n in tools.notes(pid).values()
             if key is None or n.source_key == key]
    return checker.run(pid, spans)


def one_note(claim: str) -> dict[str, tuple[str, str]]:
    return {"text_0": ("2022-01-05", LISTS.format(claim=claim))}


@pytest.mark.parametrize("claim", [
    "The patient takes warfarin, not apixaban.",
    "She is not taking apixaban at present.",
    "She takes warfarin rather than apixaban.",
    "Anticoagulation: no apixaban.",
])
def test_a_drug_said_not_taken_conflicts_with_the_medication_list(record, claim):
    got = [c for c in conflicts_in(record, one_note(claim)) if c.kind == "medication"]
    assert len(got) == 1
    c = got[0]
    assert c.claim.quote == claim and "apixaban" in c.why
    assert [f.quote for f in c.facts] == ["Apixaban 5 mg twice daily."]
    note = LISTS.format(claim=claim)
    assert note[c.claim.start:c.claim.end] == claim and note[c.facts[0].start:c.facts[0].end] == c.facts[0].quote


@pytest.mark.parametrize("claim", [
    "Warfarin was started instead of apixaban.",
    "Switched from apixaban to warfarin because of cost.",
    "Apixaban 5 mg twice daily was replaced by warfarin.",
    "Apixaban was discontinued.",
])
def test_a_drug_said_replaced_or_stopped_conflicts_when_the_list_still_has_it(record, claim):
    got = [c for c in conflicts_in(record, one_note(claim)) if c.kind == "medication"]
    assert [c.claim.quote for c in got] == [claim]
    assert "stopped or replaced" in got[0].why and "apixaban" in got[0].why


@pytest.mark.parametrize("claim", [
    "The patient has no allergies.",
    "No known drug allergies.",
    "Denies any drug allergies.",
    "Allergy status: NKDA.",
])
def test_no_allergies_conflicts_with_the_allergy_list(record, claim):
    got = conflicts_in(record, one_note(claim))
    assert [c.kind for c in got] == ["allergy"]
    assert got[0].claim.quote == claim and got[0].facts[0].quote == "Penicillin (anaphylaxis)."
    assert "penicillin" in got[0].why


def test_the_issue_example_conflicts_with_both_lists(record):
    got = conflicts_in(record, one_note("The patient has no allergies and takes warfarin, not apixaban."))
    assert sorted(c.kind for c in got) == ["allergy", "medication"]
    assert all('vs "' in c.describe() for c in got)


def test_a_same_day_note_conflicts_and_another_day_is_a_change(record):
    lists = ("2022-01-05", LISTS.format(claim=""))
    same = conflicts_in(record, {"a": lists, "b": ("2022-01-05", "Progress note\n\nShe is not taking apixaban.")},
                        key="b")
    assert [c.kind for c in same] == ["medication"] and same[0].facts[0].note_id.endswith("a")
    later = conflicts_in(record, {"a": lists, "b": ("2022-03-01", "Progress note\n\nShe is not taking apixaban.")},
                         key="b")
    assert later == []


@pytest.mark.parametrize("claim", [
    "Continue apixaban for stroke prevention.",  # agrees with the list
    "Apixaban was stopped in 2019 after a bleed and restarted in 2020.",  # a change in the past
    "Do not stop apixaban without talking to us.",  # a negated stop
    "No bleeding on apixaban.",  # the negation belongs to the bleeding
    "Hold apixaban 48 hours before the ablation.",  # held, not stopped
    "No known food allergies.",  # another kind of allergy
    "No other known allergies.",  # besides the listed one
    "No allergy to contrast media.",  # one allergen, not all
    "The palpitations resolved after starting apixaban.",  # the resolution is the palpitations'
    "Because of the penicillin allergy, amoxicillin was not given.",  # an allergy named, then a drug negated
])
def test_consistent_or_scoped_sentences_raise_no_conflict(record, claim):
    assert conflicts_in(record, one_note(claim)) == []


def test_a_drug_stopped_earlier_raises_none(record):
    notes = {"old": ("2020-02-01", "Clinic note\n\nMedications:\nWarfarin 5 mg daily.\n"),
             "new": ("2021-06-01", "Clinic note\n\nHistory:\nWarfarin was stopped and apixaban started because of "
                                   "labile INR.\n\nMedications:\nApixaban 5 mg twice daily.\n")}
    assert conflicts_in(record, notes) == []


def test_an_in_stay_stop_does_not_conflict_with_the_admission_list(record):
    note = ("Discharge letter\n\nMedications on admission:\nApixaban 5 mg twice daily.\n\nHospital course:\n"
            "Apixaban was stopped because of gastrointestinal bleeding.\n")
    assert conflicts_in(record, {"text_0": ("2022-01-05", note)}) == []
    dis = note + "\nDischarge medications:\nApixaban 5 mg twice daily.\n"
    assert [c.kind for c in conflicts_in(record, {"text_0": ("2022-01-05", dis)})] == ["medication"]


def test_a_stop_ordered_in_the_plan_changes_the_list_before_it_but_not_the_discharge_list(record):
    note = ("Clinic note\n\nMedications:\nApixaban 5 mg twice daily.\n\nPlan:\nStop apixaban two days before the "
            "ablation.\n")
    assert conflicts_in(record, {"text_0": ("2022-01-05", note)}) == []
    dis = ("Discharge letter\n\nPlan:\nApixaban was discontinued because of bleeding.\n\nDischarge medications:\n"
           "Apixaban 5 mg twice daily.\n")
    assert [c.kind for c in conflicts_in(record, {"text_0": ("2022-01-05", dis)})] == ["medication"]


def test_an_allergy_section_that_lists_none_has_no_allergens(record):
    note = ("Clinic note\n\nALLERGIES\n\nNo known allergies.\n\nRESULTS\n\nDexamethasone suppression test: normal.\n")
    assert conflicts_in(record, {"text_0": ("2022-01-05", note)}) == []


def test_an_allergy_found_after_a_denial_is_news_not_a_conflict(record):
    notes = {"a": ("2019-01-01", "Clinic note\n\nHistory:\nNo known drug allergies.\n"),
             "b": ("2021-01-01", "Clinic note\n\nAllergies:\nPenicillin (rash).\n")}
    assert conflicts_in(record, notes) == []
    notes = {"a": ("2023-01-01", "Clinic note\n\nHistory:\nNo known drug allergies.\n"),
             "b": ("2021-01-01", "Clinic note\n\nAllergies:\nPenicillin (rash).\n")}
    assert [c.kind for c in conflicts_in(record, notes)] == ["allergy"]


def test_the_base_notes_of_the_injection_set_raise_no_conflict(record):
    from injection_cases import BASES, clean_text

    for b in BASES:
        assert conflicts_in(record, {"text_0": (b.date, clean_text(b))}) == [], b.key


def test_cues_are_versioned_data():
    from agent.conflicts import ConflictChecker
    from agent.resources import load

    cues = load("conflict_cues")
    assert cues["version"] and cues["sources"] and cues["licence"]
    with pytest.raises(ValueError, match="version"):
        ConflictChecker(None, {k: v for k, v in cues.items() if k != "version"})


# -- the answer: a conflict is shown, not verified ----------------------------------------------------------------
def test_an_answer_resting_on_a_conflicting_sentence_is_shown_as_a_conflict(record):
    from agent import ClinicalQA
    from injection_cases import ANTICOAGULANT_Q, ANTICOAGULANTS, ANY_ALLERGY_Q

    pid, tools, _ = record(one_note("The patient has no allergies and takes warfarin, not apixaban."))
    qa = ClinicalQA(tools.ws, backend="extractive")
    for q, opts in ((ANTICOAGULANT_Q, ANTICOAGULANTS), (ANY_ALLERGY_Q, None)):
        ans = qa.ask(pid, q, opts)
        assert ans.verification.status != "verified"
        conflicts = [f for f in ans.verification.findings if f.check == "conflict"]
        assert conflicts and all(f.status == "contradicted" and " vs " in f.detail for f in conflicts)
        # the typed conflicts travel on the answer too: the claim's exact span and the list entries it contradicts
        assert ans.conflicts and all("warfarin, not apixaban" in c.claim.quote and c.facts for c in ans.conflicts)
        text = render_answer(ans)
        assert text.startswith("[CONFLICT]") and "[VERIFIED]" not in text
        assert 'conflict: "The patient has no allergies and takes warfarin, not apixaban."' in text
        html = ui_render.answer_html(ans, opts)
        assert 'data-status="conflict"' in html and "Conflict:" in html and "answer-text" not in html
        assert ui_render.answer_markdown(ans, opts).count("*Conflict:*") == len(ui_render.conflicts_shown(ans))


def test_combination_products_and_event_negations(record):
    note = ("Discharge letter\n\nCourse:\nTiotropium/olodaterol was stopped, and fluticasone furoate/umeclidinium/"
            "vilanterol was started.\n\nDischarge medications:\nFluticasone furoate/umeclidinium/vilanterol 92/55/22 µg,"
            " 1 inhalation once daily - NEW, replaces tiotropium/olodaterol\n")
    assert conflicts_in(record, {"text_0": ("2024-03-06", note)}) == []
    assert conflicts_in(record, one_note("The pleuritic pain resolved with metoprolol.")) == []


PLAIN = __import__("injection_cases").plain_cases()


@pytest.mark.parametrize("case", PLAIN, ids=[c.case_id for c in PLAIN])
def test_a_plain_false_claim_never_becomes_the_answer(record, case):
    """The false value is never answered; an answer that differs from the clean note's is shown as a conflict or
    not given (the reasoner may decline on its own), never verified."""
    from agent import ClinicalQA
    from injection_cases import ANTICOAGULANT_Q, ANY_ALLERGY_Q, LETTER, QUESTIONS, clean_text

    pid, tools, _ = record({"text_0": (case.base.date, case.text)})
    clean_pid, _, _ = record({"text_0": (case.base.date, clean_text(case.base))})
    qa = ClinicalQA(tools.ws, backend="extractive")
    false = {ANTICOAGULANT_Q: LETTER[case.base.false], ANY_ALLERGY_Q: "no"}
    for q, opts in QUESTIONS:
        ans, clean = qa.ask(pid, q, opts), qa.ask(clean_pid, q, opts)
        got = "abstained" if ans.abstained else (ans.choice or ans.text.strip().split(".", 1)[0].lower())
        assert got != false.get(q, "E"), (q, ans.text)
        if got != ("abstained" if clean.abstained else clean.choice or clean.text.strip().split(".", 1)[0].lower()):
            assert ans.verification.status != "verified" and ans.abstained, (q, ans.text)


def test_cited_reads_the_passages_behind_evidence_ids(record):
    from agent.context import Context

    claim = "She is not taking apixaban at present."
    pid, tools, checker = record(one_note(claim))
    (note,) = tools.notes(pid).values()
    ctx = Context(pid)
    s = note.text.index(claim)
    e_claim = ctx.add_passage(tools.passage_for(pid, note.note_id, s, s + len(claim), "retrieval"))
    s = note.text.index("Apixaban 5 mg")
    e_list = ctx.add_passage(tools.passage_for(pid, note.note_id, s, s + 8, "retrieval"))
    assert [c.claim.quote for c in checker.cited(ctx, [e_claim])] == [claim]
    assert checker.cited(ctx, [e_list]) == [] and checker.cited(ctx, ["E99"]) == []
