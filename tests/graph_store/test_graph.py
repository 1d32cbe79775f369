"""Patient graph / timeline: built from hand-made facts in a real PatientStore (no extractor needed)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import networkx as nx
import pytest

from clinqa.errors import ClinqaError, UnknownPatientError
from clinqa.records import Assertion, DateKind, Experiencer, Fact, FactType, Note, Relation
from graph_store.export import flat_graph, node_link, timeline_csv, write_graph
from graph_store.graph import PatientGraphs
from graph_store.queries import (
    to_jsonable,
    Evidence,
    FactView,
    Interval,
    MedicationInterval,
    NotDocumented,
    TimelineEvent,
)
from graph_store.resolution import CopyForwardDetector, DrugNames, normalize_name, sentence_bounds
from graph_store.store import PatientStore

PID = "p1"
D = dt.date

NOTE_A = (
    "HPI: Patient with hypertension diagnosed on 2020-06-15. Started Lasix 40 mg PO daily for edema. "
    "No chest pain. Denies diabetes.\n"
    "Medications:\nLisinopril 10 mg daily\n"
    "Labs: Hemoglobin A1c 7.2 %.\n"
)
NOTE_B = (
    "Medications:\nLisinopril 10 mg daily\n"
    "Assessment: Type 2 diabetes mellitus, newly diagnosed. Started metformin 500 mg BID two weeks ago. "
    "Furosemide increased to 80 mg daily. Hemoglobin A1c 8.1 %. Hypertension stable.\n"
)
NOTE_C = (
    "Medications:\nLisinopril 10 mg daily\nMetformin 500 mg BID\n"
    "Furosemide was stopped on 2021-03-10 because of hypotension. Fell 3 days ago. "
    "Hemoglobin A1c 8.1 %.\n"
    "Family history: mother with breast cancer.\n"
)


def fact(note: Note, surface: str, ftype: FactType, name: str, nth: int = 0, **kw) -> Fact:
    """A fact whose offsets are computed from the note text (the nth occurrence of ``surface``)."""
    start = -1
    for _ in range(nth + 1):
        start = note.text.index(surface, start + 1)
    return Fact(note.patient_id, note.note_id, start, start + len(surface), surface, ftype, name, **kw)


def add(store: PatientStore, key: str, date: dt.date, text: str, specs, note_type: str = "progress_note") -> Note:
    note = Note(PID, key, text, note_date=date, note_type=note_type)
    store.assign_note_id(note)
    facts = specs(note)
    by_alias = {alias: f for alias, f in facts}
    for alias, f in facts:  # relations name their target by alias in the spec
        f.relations = [Relation(r.kind, by_alias[r.target].fact_id) for r in f.relations]
    store.write_note(note, facts=[f for _, f in facts])
    return note


def specs_a(n: Note):
    return [
        ("htn", fact(n, "hypertension", FactType.PROBLEM, "hypertension", codes={"ICD10CM": "I10"},
                     date=D(2020, 6, 15), date_kind=DateKind.OCCURRED, date_text="2020-06-15")),
        ("lasix", fact(n, "Lasix", FactType.DRUG, "furosemide",
                       attributes={"dose": 40, "unit": "mg", "route": "PO", "frequency": "daily", "change": "started"},
                       relations=[Relation("indication_of", "edema")])),
        ("edema", fact(n, "edema", FactType.PROBLEM, "edema")),
        ("cp", fact(n, "chest pain", FactType.PROBLEM, "chest pain", assertion=Assertion.ABSENT)),
        ("dm", fact(n, "diabetes", FactType.PROBLEM, "diabetes", codes={"ICD10CM": "E11"}, assertion=Assertion.ABSENT)),
        ("lis", fact(n, "Lisinopril", FactType.DRUG, "lisinopril",
                     attributes={"dose": 10, "unit": "mg", "frequency": "daily"})),
        ("a1c", fact(n, "Hemoglobin A1c", FactType.LAB, "hemoglobin a1c",
                     attributes={"value": 7.2, "unit": "%", "abnormal": "high"})),
    ]


def specs_b(n: Note):
    return [
        ("lis", fact(n, "Lisinopril", FactType.DRUG, "lisinopril",
                     attributes={"dose": 10, "unit": "mg", "frequency": "daily"})),
        ("dm", fact(n, "Type 2 diabetes mellitus", FactType.PROBLEM, "type 2 diabetes mellitus",
                    codes={"ICD10CM": "E11"})),
        ("met", fact(n, "metformin", FactType.DRUG, "metformin", date=D(2021, 2, 6), date_kind=DateKind.OCCURRED,
                     date_text="two weeks ago",
                     attributes={"dose": 500, "unit": "mg", "frequency": "BID", "change": "started"})),
        ("furo", fact(n, "Furosemide", FactType.DRUG, "furosemide",
                      attributes={"dose": 80, "unit": "mg", "frequency": "daily", "change": "increased"})),
        ("a1c", fact(n, "Hemoglobin A1c", FactType.LAB, "hemoglobin a1c",
                     attributes={"value": 8.1, "unit": "%", "abnormal": "high"})),
        ("htn", fact(n, "Hypertension", FactType.PROBLEM, "hypertension", codes={"ICD10CM": "I10"})),
    ]


def specs_c(n: Note):
    return [
        ("lis", fact(n, "Lisinopril", FactType.DRUG, "lisinopril",
                     attributes={"dose": 10, "unit": "mg", "frequency": "daily"})),
        ("met", fact(n, "Metformin", FactType.DRUG, "metformin",
                     attributes={"dose": 500, "unit": "mg", "frequency": "BID"})),
        ("furo", fact(n, "Furosemide", FactType.DRUG, "furosemide", date=D(2021, 3, 10),
                      date_kind=DateKind.OCCURRED, date_text="on 2021-03-10", attributes={"change": "stopped"})),
        ("hypo", fact(n, "hypotension", FactType.PROBLEM, "hypotension", date=D(2021, 3, 10),
                      date_kind=DateKind.OCCURRED, relations=[Relation("adverse_event_of", "furo")])),
        # no resolved date from the extractor: the graph resolves "3 days ago" against the note date
        ("fall", fact(n, "Fell", FactType.PROBLEM, "fall", date=None, date_kind=DateKind.DOCUMENTED,
                      date_text="3 days ago")),
        ("a1c", fact(n, "Hemoglobin A1c", FactType.LAB, "hemoglobin a1c",
                     attributes={"value": 8.1, "unit": "%", "abnormal": "high"})),
        ("bc", fact(n, "breast cancer", FactType.PROBLEM, "breast cancer", experiencer=Experiencer.FAMILY)),
    ]


@pytest.fixture
def store(tmp_path):
    s = PatientStore(tmp_path / "clinqa.sqlite")
    add(s, "a.txt", D(2021, 1, 10), NOTE_A, specs_a)
    add(s, "b.txt", D(2021, 2, 20), NOTE_B, specs_b)
    add(s, "c.txt", D(2021, 3, 15), NOTE_C, specs_c, note_type="discharge_summary")
    yield s
    s.close()


@pytest.fixture
def pg(store):
    return PatientGraphs(store)


def check_evidence(store: PatientStore, ev: Evidence) -> None:
    note = store.note(ev.note_id)
    assert ev.patient_id == note.patient_id
    assert note.text[ev.start : ev.end] == ev.quote and ev.quote
    assert ev.note_date == note.note_date


# -- resolution --------------------------------------------------------------------------------------
def test_normalize_and_brand_generic():
    assert normalize_name("Type-2  Diabetes, mellitus.") == "type 2 diabetes mellitus"
    assert normalize_name("HbA1c 7.5%") == "hba1c 7.5%"
    names = DrugNames()
    assert names.generic("Lasix") == names.generic("furosemide") == "furosemide"
    assert names.generic("Metoprolol Tartrate") == "metoprolol" == names.generic("Lopressor")


def test_sentence_bounds_keep_decimals_and_lines():
    text = "Labs: Hemoglobin A1c 7.2 %. Next sentence.\nLine two"
    s, e = sentence_bounds(text, text.index("A1c"), text.index("A1c") + 3)
    assert text[s:e] == "Labs: Hemoglobin A1c 7.2 %."
    s, e = sentence_bounds(text, text.index("two"), text.index("two") + 3)
    assert text[s:e] == "Line two"


def test_brand_and_generic_and_codes_merge(pg):
    assert pg.resolve(PID, "Lasix") == pg.resolve(PID, "furosemide") == ["drug:furosemide"]
    assert pg.resolve(PID, "FUROSEMIDE") == ["drug:furosemide"]
    dm = pg.resolve(PID, "E11")
    assert len(dm) == 1 and pg.resolve(PID, "diabetes") == dm == pg.resolve(PID, "type 2 diabetes mellitus")
    assert pg.resolve(PID, "icd10cm:i10") == pg.resolve(PID, "Hypertension") == ["problem:hypertension"]
    furo = pg.facts(PID, name_or_code="lasix")
    assert {f.evidence.note_id for f in furo} == {f"{PID}/a.txt", f"{PID}/b.txt", f"{PID}/c.txt"}
    assert {f.text for f in furo} == {"Lasix", "Furosemide"}
    g = pg.graph(PID)
    # one concept node that all three mentions point to
    mentions = [u for u, v, k in g.in_edges("concept:drug:furosemide", keys=True) if k == "of_concept"]
    assert len(mentions) == 3


def test_copy_forward_repeats_are_not_new_events(pg, store):
    lis = pg.facts(PID, name_or_code="lisinopril")
    assert len(lis) == 3
    first, *later = sorted(lis, key=lambda v: v.evidence.note_date)
    assert first.copy_forward_of is None
    assert all(v.copy_forward_of == first.fact_id for v in later)
    c = pg.count(PID, "lisinopril")
    assert c.count == 1 and c.repeats_ignored == 2
    # the one event keeps all three spans as evidence
    assert len(c.events[0].all_evidence) == 3
    for ev in pg.evidence(first.fact_id):
        check_evidence(store, ev)
    # the copied lab sentence is not a third lab result
    series = pg.lab_series(PID, "hemoglobin a1c")
    assert [p.value for p in series] == [7.2, 8.1]
    assert [p.date for p in series] == [D(2021, 1, 10), D(2021, 2, 20)]
    assert pg.facts(PID, name_or_code="a1c", include_copy_forward=False).items  # "a1c" fallback word match
    assert len(pg.facts(PID, name_or_code="hemoglobin a1c", include_copy_forward=False)) == 2


def test_copy_forward_detector_needs_same_sentence():
    a = Note(PID, "a", "Aspirin 81 mg daily.", note_date=D(2020, 1, 1), note_id="a")
    b = Note(PID, "b", "Aspirin 325 mg daily.", note_date=D(2020, 2, 1), note_id="b")
    fa = Fact(PID, "a", 0, 7, "Aspirin", FactType.DRUG, "aspirin")
    fb = Fact(PID, "b", 0, 7, "Aspirin", FactType.DRUG, "aspirin")
    keys = {fa.fact_id: "drug:aspirin", fb.fact_id: "drug:aspirin"}
    assert CopyForwardDetector().run([a, b], [fa, fb], keys) == {}  # a new dose is news, not a copy


def test_conflict_keeps_both_with_dates(pg, store):
    conflicts = pg.conflicts(PID)
    assert [c.concept_key for c in conflicts] == pg.resolve(PID, "diabetes")
    c = conflicts[0]
    assert [v.evidence.note_date for v in c.negated] == [D(2021, 1, 10)]
    assert [v.evidence.note_date for v in c.present] == [D(2021, 2, 20)]
    assert "2021-01-10" in c.message and "2021-02-20" in c.message
    assert all(v.conflict for v in pg.facts(PID, name_or_code="diabetes"))
    assert pg.graph(PID).nodes[f"concept:{c.concept_key}"]["conflict"] is True
    # chest pain only negated: no conflict, and not documented as occurring
    assert "chest pain" not in {x.name for x in conflicts}
    res = pg.first(PID, "chest pain")
    assert isinstance(res, NotDocumented) and not res and "absent" in res.message
    for v in (*c.present, *c.negated):
        check_evidence(store, v.evidence)


def test_timeline_orders_by_occurred_date(pg, store):
    tl = pg.timeline(PID)
    dates = [e.date for e in tl]
    assert all(d is not None for d in dates) and dates == sorted(dates)
    names = [(e.date, e.event_type, e.name) for e in tl]
    # hypertension occurred 2020-06-15 although first documented 2021-01-10
    assert names[0] == (D(2020, 6, 15), "diagnosis", "hypertension")
    # metformin started "two weeks ago" in the 2021-02-20 note -> before the diabetes diagnosis documented that day
    met = pg.first(PID, "metformin")
    assert met.date == D(2021, 2, 6) and met.date_kind == "occurred" and met.event_type == "medication_start"
    # relative date with no extractor date: "Fell 3 days ago" in the 2021-03-15 note
    fall = pg.first(PID, "fall")
    assert fall.date == D(2021, 3, 12) and fall.date_kind == "occurred"
    assert pg.first(PID, "hypertension").date == D(2020, 6, 15)
    # "Hypertension stable" later is a mention of the known diagnosis, not a new one
    assert pg.count(PID, "hypertension").count == 1
    assert [e.event_type for e in pg.timeline(PID, types=["adverse_event"])] == ["adverse_event"]
    window = pg.timeline(PID, start="2021-02-01", end=D(2021, 2, 28))
    assert window and all(D(2021, 2, 1) <= e.date <= D(2021, 2, 28) for e in window)
    assert "breast cancer" not in {e.name for e in tl}  # family history is not the patient's event
    for e in tl:
        for ev in e.all_evidence:
            check_evidence(store, ev)


def test_first_last_order_interval(pg, store):
    assert pg.last(PID, "Lasix").event_type == "medication_stop"
    assert pg.last(PID, "Lasix").date == D(2021, 3, 10)
    assert pg.first(PID, "furosemide").date == D(2021, 1, 10)
    res = pg.order(PID, ["diabetes", "Lasix", "warfarin", "metformin", "hypertension"])
    assert [i.query for i in res.items] == ["hypertension", "Lasix", "metformin", "diabetes"]
    assert [i.date for i in res.items] == sorted(i.date for i in res.items)
    assert res.not_documented == ["warfarin"] and "warfarin" in res.message
    iv = pg.interval_between(PID, "lasix", "metformin")
    assert isinstance(iv, Interval)
    assert iv.days == (D(2021, 2, 6) - D(2021, 1, 10)).days == 27
    check_evidence(store, iv.a_evidence)
    check_evidence(store, iv.b_evidence)
    assert iv.a_evidence.quote == "Lasix" and iv.b_evidence.quote == "metformin"
    assert pg.interval_between(PID, "metformin", "lasix").days == -27
    missing = pg.interval_between(PID, "lasix", "warfarin")
    assert isinstance(missing, NotDocumented) and "warfarin" in missing.message
    for item in res.items:
        check_evidence(store, item.evidence)


def test_medication_intervals_and_active(pg, store):
    (furo,) = pg.medication_intervals(PID, "lasix")
    assert isinstance(furo, MedicationInterval)
    assert (furo.start, furo.end, furo.end_reason, furo.start_explicit) == (D(2021, 1, 10), D(2021, 3, 10),
                                                                           "stopped", True)
    assert [(d.dose, d.date) for d in furo.doses] == [(40, D(2021, 1, 10)), (80, D(2021, 2, 20))]
    active = pg.active_medications(PID, on="2021-02-25")
    assert {iv.name for iv in active} == {"furosemide", "lisinopril", "metformin"}
    later = pg.active_medications(PID, on=D(2021, 3, 12))
    assert {iv.name for iv in later} == {"lisinopril", "metformin"}
    assert "no stop documented" in later.message
    assert {iv.name for iv in pg.active_medications(PID)} == {"lisinopril", "metformin"}  # latest note date
    before = pg.active_medications(PID, on="2020-01-01")
    assert not before and "no medication documented" in before.message
    for iv in (*active, *later):
        check_evidence(store, iv.start_evidence)
        for d in iv.doses:
            check_evidence(store, d.evidence)


def test_adverse_event_and_relations_in_graph(pg):
    g = pg.graph(PID)
    hypo = pg.resolve(PID, "hypotension")[0]
    assert g.has_edge(f"concept:{hypo}", "concept:drug:furosemide", key="adverse_event_of")
    assert g.has_edge("concept:drug:furosemide", "concept:problem:edema", key="indication_of")
    assert pg.first(PID, "hypotension").event_type == "adverse_event"
    kinds = {d["kind"] for _, d in g.nodes(data=True)}
    assert kinds == {"patient", "note", "concept", "mention", "event", "dose"}
    lasix = pg.facts(PID, name_or_code="lasix")[0]
    (dose,) = [v for _, v, k in g.out_edges(f"mention:{lasix.fact_id}", keys=True) if k == "has_dose"]
    assert (g.nodes[dose]["dose"], g.nodes[dose]["unit"], g.nodes[dose]["route"]) == (40, "mg", "PO")
    # temporal order edges follow the timeline
    chain = [(u, v) for u, v, k in g.edges(keys=True) if k == "before"]
    assert len(chain) == len([e for e in pg.timeline(PID) if e.date]) - 1
    for u, v in chain:
        assert g.nodes[u]["date"] <= g.nodes[v]["date"]


def test_unknown_patient_and_concept(pg):
    with pytest.raises(UnknownPatientError):
        pg.timeline("nobody")
    with pytest.raises(UnknownPatientError):
        pg.graph("nobody")
    assert pg.resolve(PID, "warfarin") == [] and pg.resolve(PID, "") == []
    nd = pg.first(PID, "warfarin")
    assert isinstance(nd, NotDocumented) and "not documented" in nd.message
    empty = pg.facts(PID, name_or_code="warfarin")
    assert len(empty) == 0 and "does not document" in empty.message
    c = pg.count(PID, "warfarin")
    assert c.count == 0 and "not documented" in c.message
    ls = pg.lab_series(PID, "ferritin")
    assert not ls.documented and "no results" in ls.message
    with pytest.raises(ClinqaError):
        pg.active_medications(PID, on="last tuesday")
    with pytest.raises(ClinqaError):
        pg.evidence("f_doesnotexist")


def test_facts_filters_and_spans(pg, store):
    negated = pg.facts(PID, assertion="absent")
    assert {v.name for v in negated} == {"chest pain", "diabetes"}
    drugs = pg.facts(PID, type=FactType.DRUG)
    assert {v.concept_key for v in drugs} == {"drug:furosemide", "drug:lisinopril", "drug:metformin"}
    fam = [v for v in pg.facts(PID) if v.experiencer == "family"]
    assert [v.name for v in fam] == ["breast cancer"]
    everything = pg.facts(PID)
    assert len(everything) == len([f for f in store.facts(PID)])
    for v in everything:
        assert isinstance(v, FactView)
        check_evidence(store, v.evidence)
        assert pg.evidence(v)[0] == v.evidence
        assert pg.evidence(v.fact_id)[0] == v.evidence


def test_cache_and_invalidation(pg, store):
    g1 = pg.graph(PID)
    assert pg.graph(PID) is g1
    assert pg.resolve(PID, "warfarin") == []
    note = add(store, "d.txt", D(2021, 4, 1), "Started warfarin 5 mg daily.\n", lambda n: [
        ("w", fact(n, "warfarin", FactType.DRUG, "warfarin", attributes={"dose": 5, "unit": "mg", "change": "started"}))
    ])
    g2 = pg.graph(PID)
    assert g2 is not g1 and pg.resolve(PID, "Coumadin") == ["drug:warfarin"]
    store.delete_note(note.note_id)
    assert pg.resolve(PID, "warfarin") == []
    # re-extraction keeps the note rows but changes the facts: the cache must notice
    a = store.note(f"{PID}/a.txt")
    store.replace_derived(a.note_id, facts=[f for f in store.facts(PID, a.note_id) if f.name != "edema"])
    assert pg.resolve(PID, "edema") == []


def test_exports_round_trip(pg, store, tmp_path):
    g = pg.graph(PID)
    data = node_link(g)
    json.dumps(data)  # plain JSON
    back = nx.node_link_graph(data, edges="edges")
    assert back.number_of_nodes() == g.number_of_nodes() and back.number_of_edges() == g.number_of_edges()
    path = write_graph(g, tmp_path / "p1.graphml", "graphml")
    gm = nx.read_graphml(path, force_multigraph=True)
    assert gm.number_of_nodes() == g.number_of_nodes() and gm.number_of_edges() == g.number_of_edges()
    m = next(n for n, d in gm.nodes(data=True) if d.get("kind") == "mention")
    note = store.note(gm.nodes[m]["note_id"])
    assert note.text[int(gm.nodes[m]["start"]) : int(gm.nodes[m]["end"])] == gm.nodes[m]["text"]
    assert all(not isinstance(v, (dict, list)) for _, d in flat_graph(g).nodes(data=True) for v in d.values())
    rows = list(csv.DictReader(io.StringIO(timeline_csv(pg.timeline(PID).items))))
    assert len(rows) == len(pg.timeline(PID)) and rows
    for r in rows:
        assert store.note(r["note_id"]).text[int(r["start"]) : int(r["end"])] == r["quote"]
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)


def test_cli_commands(store, tmp_path, monkeypatch):
    typer = pytest.importorskip("typer")
    from typer.testing import CliRunner

    from graph_store.commands import register

    app = typer.Typer()
    register(app)
    monkeypatch.setenv("CLINQA_HOME", str(store.path.parent))
    runner = CliRunner()
    out = tmp_path / "g.graphml"
    r = runner.invoke(app, ["graph", PID, "--format", "graphml", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert nx.read_graphml(out, force_multigraph=True).number_of_nodes() > 10
    r = runner.invoke(app, ["timeline", PID, "--csv"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert rows and rows[0]["name"] == "hypertension"
    r = runner.invoke(app, ["timeline", PID])
    assert r.exit_code == 0 and "medication_stop" in r.stdout
    r = runner.invoke(app, ["graph", PID, "--format", "dot"])
    assert r.exit_code != 0
    r = runner.invoke(app, ["graph", "nobody"])
    assert r.exit_code != 0 and isinstance(r.exception, UnknownPatientError)


def test_event_results_are_typed_and_serialisable(pg):
    ev = pg.first(PID, "metformin")
    assert isinstance(ev, TimelineEvent) and isinstance(ev.evidence, Evidence)
    assert ev.detail.startswith("started") and "500" in ev.detail
    data = json.loads(json.dumps(to_jsonable(pg.order(PID, ["metformin", "warfarin"]))))
    assert data["items"][0]["date"] == "2021-02-06" and data["items"][0]["evidence"]["quote"] == "metformin"
    assert data["not_documented"] == ["warfarin"] and data["documented"] is True
    nd = to_jsonable(pg.first(PID, "warfarin"))
    assert nd["documented"] is False and "not documented" in nd["message"]


def test_salt_forms_merge_but_keep_written_name(tmp_path):
    s = PatientStore(tmp_path / "s.sqlite")
    text = "Ferrous sulfate 325 mg daily. Metoprolol tartrate 25 mg BID. Toprol XL 50 mg daily.\n"
    add(s, "n.txt", D(2022, 5, 1), text, lambda n: [
        ("fe", fact(n, "Ferrous sulfate", FactType.DRUG, "ferrous sulfate")),
        ("m1", fact(n, "Metoprolol tartrate", FactType.DRUG, "metoprolol tartrate")),
        ("m2", fact(n, "Toprol XL", FactType.DRUG, "Toprol XL")),  # an extractor that left the brand name
    ])
    pg = PatientGraphs(s)
    assert pg.resolve(PID, "metoprolol") == pg.resolve(PID, "Lopressor") == ["drug:metoprolol"]
    assert pg.facts(PID, name_or_code="metoprolol succinate").items[0].concept_key == "drug:metoprolol"
    assert len(pg.facts(PID, name_or_code="toprol")) == 2
    fe = pg.model(PID).concepts[pg.resolve(PID, "ferrous sulfate")[0]]
    assert fe.name == "ferrous sulfate"
    s.close()


def test_undated_note_goes_last_and_is_not_guessed(store, pg):
    note = Note(PID, "u.txt", "Started aspirin 81 mg daily.\n", note_date=D(2030, 1, 1), date_known=False)
    store.assign_note_id(note)
    store.write_note(note, facts=[fact(note, "aspirin", FactType.DRUG, "aspirin",
                                       attributes={"dose": 81, "unit": "mg", "change": "started"})])
    tl = pg.timeline(PID)
    assert tl[-1].name == "aspirin" and tl[-1].date is None and tl[-1].date_kind == "unknown"
    assert tl[-1].evidence.note_date is None  # the ingest-date fallback is not reported as a note date
    assert store.note(note.note_id).text[tl[-1].evidence.start : tl[-1].evidence.end] == "aspirin"
    assert "aspirin" not in {e.name for e in pg.timeline(PID, start="2000-01-01")}
    iv = pg.interval_between(PID, "lasix", "aspirin")
    assert isinstance(iv, NotDocumented) and "date is unknown" in iv.message
    assert "aspirin" not in {m.name for m in pg.active_medications(PID, on="2031-01-01")}


def test_past_medication_is_not_active(store, pg):
    text = "Previously on warfarin, stopped years ago.\n"
    add(store, "h.txt", D(2021, 3, 20), text, lambda n: [
        ("w", fact(n, "warfarin", FactType.DRUG, "warfarin", historical=True))])
    assert pg.first(PID, "warfarin").event_type == "medication_past"
    assert "warfarin" not in {m.name for m in pg.active_medications(PID, on="2021-03-20")}
    assert not pg.medication_intervals(PID, "warfarin")
