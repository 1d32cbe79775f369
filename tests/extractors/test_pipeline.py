import datetime as dt
import pickle
import random

import pytest
from conftest import make_note, of_type, one

from clinqa.records import Assertion, Experiencer, Fact, FactType

DISCHARGE = """Discharge Summary

Diagnoses:
1. Diffuse large B-cell lymphoma, diagnosed 03/2019
2. Febrile neutropenia

History of Present Illness:
67-year-old man with HTN and DM2 who presented on 2019-04-02 with fever and SOB. Denies chest pain.

Hospital Course:
Piperacillin/tazobactam 4.5 g IV q8h was started for febrile neutropenia. Vancomycin was discontinued due to
acute kidney injury. On day 3 CT chest showed no PE. Hgb 7.8 g/dL (L), WBC 0.4 (L), creatinine 1.9 mg/dL.
BP 102/60, HR 104, T 38.9 C, SpO2 95% on RA.

Medications on Discharge:
Lisinopril 10 mg daily
Metformin 500 mg PO BID

Family History:
Mother with breast cancer.
"""


def test_full_note_offsets_and_types(extract):
    facts = extract(DISCHARGE)
    types = {f.type for f in facts}
    assert types == set(FactType)
    for f in facts:
        assert f.provenance, f
        if f.type != FactType.SECTION:
            assert f.section is None or isinstance(f.section, str)
    assert one(facts, "DRUG", "vancomycin").attributes["change"] == "stopped"
    aki = one(facts, "PROBLEM", "acute kidney injury")
    assert aki.relations and aki.relations[0].kind == "adverse_event_of"
    assert one(facts, "PROBLEM", "breast cancer").section == "family history"
    assert len({f.fact_id for f in facts}) == len(facts)


def test_facts_roundtrip_and_json(extract):
    for f in extract(DISCHARGE):
        assert Fact.from_dict(f.to_dict()) == f


def test_empty_and_whitespace_notes(cx):
    assert cx.run(make_note("")) == [] and cx.run(make_note("   \n\n")) == []


def test_classifier_results_are_copied(extract):
    facts = extract("Denies chest pain. Mother had breast cancer. No fever.")
    by = {f.name: f for f in facts}
    # whatever the classifier decides, its fields land on the facts; without it everything stays present
    for f in by.values():
        assert isinstance(f.assertion, Assertion) and isinstance(f.experiencer, Experiencer)


class _StubClassifier:
    def __init__(self):
        self.calls = []

    def classify_targets(self, text, targets, sentences=None, sections=None, note_date=None, dates=None):
        from types import SimpleNamespace

        self.calls.append((text, list(targets), sentences, sections))
        self.dates = (note_date, dates)
        return [SimpleNamespace(assertion=Assertion.ABSENT if "denies" in text[max(0, s - 10):s].lower() else Assertion.PRESENT,
                                historical=True, experiencer=Experiencer.FAMILY, triggers=[f"stub:{text[s:e]}"])
                for s, e in targets]


def test_classifier_wiring_with_stub():
    from extractors import ClinicalExtractor

    x = ClinicalExtractor({"assertion": False})
    x.warm_up()
    stub = _StubClassifier()
    x.assertion_classifier = stub
    text = "History of Present Illness:\nPatient denies chest pain. Lisinopril 10 mg daily. Hgb 9.1."
    facts = x.run(make_note(text))
    assert len(stub.calls) == 1  # one call per note for all concept facts
    sub, targets, sentences, sections = stub.calls[0]
    concepts = [f for f in facts if f.type in (FactType.PROBLEM, FactType.DRUG, FactType.LAB)]
    assert [(s, e) for s, e in targets] == [(f.start, f.end) for f in concepts]
    assert sections == ["history of present illness"] * 3 and sentences
    cp = one(facts, "PROBLEM", "chest pain")
    assert cp.assertion == Assertion.ABSENT and cp.historical and cp.experiencer == Experiencer.FAMILY
    assert cp.assertion_triggers == ["stub:chest pain"]
    assert one(facts, "DRUG", "lisinopril").assertion == Assertion.PRESENT
    assert of_type(facts, "SECTION")[0].assertion_triggers == []  # sections are not classified


def test_classifier_gets_the_note_date_and_the_resolved_dates():
    from extractors import ClinicalExtractor

    x = ClinicalExtractor({"assertion": False})
    x.warm_up()
    x.assertion_classifier = stub = _StubClassifier()
    text = "Seen today. Pneumonia in March 2019, treated with amoxicillin."
    x.run(make_note(text, note_date=dt.date(2024, 5, 1)))
    note_date, dates = stub.dates
    assert note_date == dt.date(2024, 5, 1)
    assert [(d.text, d.value) for d in dates] == [("today", dt.date(2024, 5, 1)),
                                                  ("March 2019", dt.date(2019, 3, 1))]
    assert [text[d.start:d.end] for d in dates] == ["today", "March 2019"]  # offsets into the classifier's text
    x.run(make_note(text, date_known=False))  # an ingest date stands in: absolute dates cannot be read against it
    assert stub.dates[0] is None


@pytest.mark.parametrize("text, concept", [
    ("He had a stroke in 2009. He has pneumonia now.", "stroke"),
    ("Pneumonia in March 2019, treated with amoxicillin. Today cellulitis.", "pneumonia"),
    ("She was treated for cellulitis on 01/02/2015. No fever.", "cellulitis"),
])
def test_a_dated_mention_is_historical_against_the_note_date(extract, text, concept):
    past = one(extract(text), "PROBLEM", concept)
    assert past.historical and any(t.startswith("time_expression:") for t in past.assertion_triggers)
    assert not one(extract(text, date_known=False), "PROBLEM", concept).historical  # no note date: no evidence
    for f in extract(text):
        if f.type == FactType.PROBLEM and f.name != concept:
            assert not f.historical, f  # the date dates its own sentence only


def test_extractor_pickles_as_config():
    from extractors import ClinicalExtractor

    x = ClinicalExtractor({"slice_chars": 5000})
    blob = pickle.dumps(x)
    assert len(blob) < 2000  # no dictionaries inside
    y = pickle.loads(blob)
    assert y.config.slice_chars == 5000
    facts = y.run(make_note("Started Lasix 40 mg daily."))
    assert one(facts, "DRUG", "furosemide").attributes["change"] == "started"


@pytest.mark.slow
def test_pipe_with_two_processes_matches_sequential(cx):
    from evals.bench_extract import make_note as gen

    r = random.Random(3)
    notes = [make_note(gen(r, i, words=200), note_id=f"n{i}") for i in range(24)]
    seq = [cx.run(n) for n in notes]
    par = list(cx.pipe(notes, n_process=2, batch_size=4))
    assert par == seq
    assert all(len(f) > 5 for f in par)


def test_module_level_pipe(cx):
    import extractors

    notes = [make_note("Lisinopril for hypertension.", note_id="a"), make_note("Rash.", note_id="b")]
    out = list(extractors.pipe(notes, extractor=cx))
    assert [[f.name for f in fs] for fs in out] == [["lisinopril", "hypertension"], ["rash"]]


def test_slicing_preserves_facts_and_sections():
    from extractors import ClinicalExtractor

    text = ("Medications:\n" + "Lisinopril 10 mg daily\n" * 50 + "\nFamily History:\n" + "Mother with breast cancer.\n" * 50)
    small = ClinicalExtractor({"slice_chars": 300})
    big = ClinicalExtractor()
    a, b = small.run(make_note(text)), big.run(make_note(text))
    key = lambda fs: [(f.start, f.end, f.type, f.name, f.section, f.attributes) for f in fs]
    assert key(a) == key(b)
    assert {f.section for f in a if f.name == "breast cancer"} == {"family history"}


def test_slices_read_their_own_dates():
    """A dated sentence in a later slice is historical by its own date (date offsets follow the slice)."""
    from extractors import ClinicalExtractor

    text = "Lisinopril 10 mg daily.\n" * 30 + "He had pneumonia in 2015.\n" + "Today he has cellulitis.\n" * 20
    small = ClinicalExtractor({"slice_chars": 300})
    facts = small.run(make_note(text))
    pn = one(facts, "PROBLEM", "pneumonia")
    assert pn.start > 300 and pn.historical and pn.assertion_triggers == ["time_expression:2015"]
    assert not any(f.historical for f in facts if f.name == "cellulitis")
    big = ClinicalExtractor().run(make_note(text))
    key = lambda fs: [(f.start, f.name, f.assertion, f.historical, f.assertion_triggers) for f in fs]
    assert key(facts) == key(big)


@pytest.mark.slow
def test_five_megabyte_note(cx):
    import time

    from evals.bench_extract import make_note as gen

    r = random.Random(11)
    parts, size = [], 0
    while size < 5_000_000:
        t = gen(r, 0) + "\n\n"
        parts.append(t)
        size += len(t)
    text = "".join(parts)
    t0 = time.perf_counter()
    facts = cx.run(make_note(text))
    assert time.perf_counter() - t0 < 300
    assert len(facts) > 10_000
    assert all(text[f.start : f.end] == f.text for f in facts)
    assert facts[-1].start > 4_900_000  # the whole note was processed
    starts = [(f.start, f.end) for f in facts]
    assert starts == sorted(starts)


def test_facts_frame_and_cli(tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from clinqa.workspace import Workspace
    from extractors import facts_frame
    from extractors.commands import register
    from graph_store.readers import read_path

    folder = tmp_path / "notes" / "p9"
    folder.mkdir(parents=True)
    (folder / "2021-01-10_progress.txt").write_text("HPI:\nStarted Lasix 40 mg PO daily for edema. Hgb 9.1 g/dL.\n")
    home = tmp_path / "ws"
    monkeypatch.setenv("CLINQA_HOME", str(home))
    ws = Workspace(home, chunk=False)
    assert ws.ingest([tmp_path / "notes"], progress=False).ok
    facts = ws.store.facts("p9")
    df = facts_frame(facts)
    assert len(df) == len(facts) and {"type", "name", "dose", "value", "codes"} <= set(df.columns)
    row = df[df.name == "furosemide"].iloc[0]
    assert row["dose"] == 40 and row["change"] == "started" and "DRUGBANK:DB00695" in row["codes"]
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer in multi-command mode
        pass

    out_csv = tmp_path / "facts.csv"
    res = CliRunner().invoke(app, ["facts", "p9", "--type", "DRUG,LAB", "--csv", str(out_csv)])
    assert res.exit_code == 0, res.output
    assert "furosemide" in res.output and "hemoglobin" in res.output and "SECTION" not in res.output
    import pandas as pd

    back = pd.read_csv(out_csv)
    assert sorted(back["type"].unique()) == ["DRUG", "LAB"]
    bad = CliRunner().invoke(app, ["facts", "p9", "--type", "NOPE"])
    assert bad.exit_code != 0
