"""Fast unit tests for the UI's pure rendering helpers (no browser, no server)."""
from __future__ import annotations

import datetime as dt
import html
import re
from types import SimpleNamespace as NS

import pytest

from ui import render as R

D = dt.date


def _answer(status="verified", choice="A", text="An excisional biopsy was performed on 01/22/2019.", cites=None, **kw):
    cites = cites if cites is not None else [
        {"evidence_id": "E1", "patient_id": "p1", "note_id": "p1/text_0", "start": 10, "end": 30,
         "quote": "biopsy <b>on</b> 01/22", "note_date": "2019-02-03"}]
    return {"text": text, "choice": choice, "citations": cites, "option_verdicts": kw.get("verdicts", {}),
            "verification": {"status": status, "reason": kw.get("reason")}, "facts_used": kw.get("facts_used", []),
            "backend": "extractive", "model": None, "timings": {"total": 0.5}, "kind": "lookup"}


@pytest.mark.parametrize("status,label,cls", [
    ("verified", "Verified", "cq-badge-verified"),
    ("partial", "Partly supported", "cq-badge-partial"),
    ("abstained", "Abstained: not documented", "cq-badge-abstained"),
    ("unsupported", "Unsupported", "cq-badge-unsupported"),
])
def test_badge(status, label, cls):
    h = R.badge_html(status)
    assert cls in h and label in h and f'data-status="{status}"' in h
    assert R.badge_label(status) == label
    assert label in R.badge_markdown(status)


def test_badge_unknown_status_is_escaped():
    h = R.badge_html("<x>")
    assert "<x>" not in h and "&lt;x&gt;" in h


def test_citation_list_is_numbered_escaped_and_clickable():
    cites = [{"note_id": "p1/a", "start": 0, "end": 5, "quote": "<script>alert(1)</script>", "note_date": None},
             {"note_id": "p1/b", "start": 7, "end": 9, "quote": "ok\n  text", "note_date": "2020-01-01"}]
    h = R.citation_list_html(cites, active=2)
    assert "<script>" not in h and "&lt;script&gt;" in h
    assert re.findall(r'data-cite="(\d)"', h) == ["1", "2"]
    assert "undated" in h and "2020-01-01" in h and "chars 7–9" in h
    assert "ok text" in h  # whitespace collapsed for the list
    assert h.count("cq-cite-active") == 1
    assert "No citations" in R.citation_list_html([])


def test_answer_html_shows_badge_choice_verdicts_and_citations():
    opts = {"A": "01/22/2019", "B": "02/05/2019"}
    h = R.answer_html(_answer(verdicts={"A": "supported", "B": "not_documented"}, reason="why <not>"), opts)
    assert 'data-status="verified"' in h and "Option A" in h
    assert ">found<" in h and ">not found<" in h and "cq-opt-chosen" in h
    assert ">supported<" not in h  # a mention of an option is not support for it as the answer
    assert "why &lt;not&gt;" in h
    assert 'data-cite="1"' in h and "biopsy &lt;b&gt;on&lt;/b&gt; 01/22" in h
    assert "backend extractive" in h


def test_answer_html_abstained_and_empty():
    h = R.answer_html(_answer(status="abstained", choice=None, text="Not documented in the notes.", cites=[]))
    assert "cq-badge-abstained" in h and "Option" not in h and "No citations" in h
    assert "Ask a question" in R.answer_html(None)


def test_a_conflict_is_shown_instead_of_the_answer():
    detail = '"No known <drug> allergies." (p1/text_0) vs "Penicillin (anaphylaxis)." (p1/text_0): the sentence denies'
    a = _answer(status="abstained", choice="E", text="Not documented: the answer could not be verified.",
                reason="conflict: ...")
    a["verification"]["findings"] = [
        {"check": "conflict", "claim": "No known drug allergies.", "status": "contradicted", "detail": detail},
        {"check": "conflict", "claim": "No known drug allergies.", "status": "contradicted", "detail": detail},
        {"check": "value", "claim": "E", "status": "supported", "detail": "found"}]
    assert R.conflicts_shown(a) == [detail]
    h = R.answer_html(a, {"E": "No drug allergies"})
    assert 'data-status="conflict"' in h and "Conflict: not answered" in h
    assert h.count("<b>Conflict:</b>") == 1 and "&lt;drug&gt;" in h
    assert "answer-choice" not in h and "answer-text" not in h and "Why:" not in h
    md = R.answer_markdown(a)
    assert "Conflict: not answered" in md and "Not documented" not in md and "<drug>" not in md
    plain = _answer(status="abstained", choice=None, text="Not documented.", cites=[])
    plain["verification"]["findings"] = [{"check": "conflict", "claim": "x", "status": "skipped", "detail": "d"}]
    assert R.conflicts_shown(plain) == [] and 'data-status="abstained"' in R.answer_html(plain)


def test_answer_markdown_escapes_note_text():
    md = R.answer_markdown(_answer(text="*bold* <img src=x>"), {"A": "opt [x](y)"})
    assert "<img" not in md and "\\*bold\\*" in md
    assert "opt \\[x\\]\\(y\\)" in md
    assert "[1] p1/text\\_0 (2019\\-02\\-03)" in md


def test_note_html_highlights_exact_span_and_escapes():
    text = "Dx: <b>DLBCL</b> & hypertension.\nBiopsy on 01/22/2019 showed lymphoma."
    note = NS(note_id="p1/text_0", text=text, note_date=D(2019, 2, 3), date_known=True, note_type="letter",
              title="text_0", flags=["decode_replaced"])
    s = text.index("Biopsy on 01/22/2019")
    e = s + len("Biopsy on 01/22/2019")
    h = R.note_html(note, [R.Highlight(s, e, "1", True), R.Highlight(0, 3, "2")])
    assert "<b>" not in h and "&lt;b&gt;DLBCL&lt;/b&gt; &amp; hypertension" in h
    m = re.search(r'<mark id="cite-1" class="cq-mark cq-active"[^>]*>(.*?)</mark>', h)
    assert m and html.unescape(m.group(1)) == text[s:e]
    assert f'data-start="{s}" data-end="{e}"' in h
    assert 'id="cite-2"' in h and "decode_replaced" in h and "2019-02-03" in h
    # the text without markup is exactly the note
    body = re.search(r'<pre class="cq-note-text">(.*)</pre>', h, re.S).group(1)
    assert html.unescape(re.sub(r"<[^>]+>", "", body)) == text


def test_note_html_overlaps_and_bad_spans():
    note = NS(note_id="n", text="abcdefghij", note_date=None, date_known=False, note_type="note", title=None, flags=[])
    h = R.note_html(note, [R.Highlight(2, 6, "1"), R.Highlight(4, 8, "2"), R.Highlight(5, 50, "3")])
    body = re.search(r'<pre class="cq-note-text">(.*)</pre>', h, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", body) == "abcdefghij"  # nothing duplicated or lost
    assert "cite-3" not in h  # out of range is ignored
    assert "undated (date unknown)" in h
    assert "No note selected" in R.note_html(None)


def test_citation_highlights_only_for_that_note():
    cites = [{"note_id": "a", "start": 1, "end": 2}, {"note_id": "b", "start": 3, "end": 4},
             {"note_id": "a", "start": 5, "end": 6}]
    hl = R.citation_highlights(cites, "a", 3)
    assert [(h.label, h.active) for h in hl] == [("1", False), ("3", True)]


def test_patient_label():
    row = {"patient_id": "patient_01", "name": "Anna Berger", "n_notes": 3, "first": "2019-02-03", "last": "2019-11-02"}
    assert R.patient_label(row) == "Anna Berger · patient_01 · 3 notes · 2019-02-03 → 2019-11-02"
    assert R.patient_choices([row]) == [(R.patient_label(row), "patient_01")]
    assert "no dated notes" in R.patient_label({"patient_id": "x", "name": None, "n_notes": 0})


def test_span_roundtrip():
    assert R.parse_span(R.span_str(12, 40)) == (12, 40)
    assert R.parse_span("garbage") is None


def _ev(etype, name, day, note="p1/n1", start=0, end=4, quote="text", **attrs):
    return NS(event_type=etype, name=name, date=day, date_kind="occurred", detail=attrs.pop("detail", ""),
              attributes=attrs, evidence=NS(note_id=note, start=start, end=end, quote=quote))


def test_timeline_rows_filter_and_link_to_evidence():
    events = [
        _ev("diagnosis", "DLBCL", D(2019, 1, 22), start=5, end=10),
        _ev("lab_result", "hemoglobin", D(2019, 4, 20), abnormal="low", detail="10.9 g/dL"),
        _ev("lab_result", "platelets", D(2019, 4, 20), abnormal=None),
        _ev("medication", "ramipril", D(2019, 2, 3)),
        _ev("adverse_event", "febrile neutropenia", None),
    ]
    rows = R.timeline_rows(events)
    names = [r[2] for r in rows]
    assert names == ["DLBCL", "hemoglobin", "febrile neutropenia"]  # normal lab and plain mention dropped
    assert rows[0][R.TIMELINE_COLUMNS.index("span")] == "5-10" and rows[0][R.TIMELINE_COLUMNS.index("note")] == "p1/n1"
    assert rows[2][0] == "undated" and rows[1][1] == "lab result"
    assert len(R.timeline_rows(events, types=None, abnormal_labs_only=False)) == 5


def test_medication_bars_and_figure():
    ev = NS(note_id="p1/n1", start=0, end=3, quote="x")
    ivs = [
        NS(name="R-CHOP", start=D(2019, 2, 5), end=D(2019, 6, 1), last_documented=D(2019, 6, 1), end_reason="stopped",
           start_evidence=ev, doses=[NS(date=D(2019, 2, 5), dose=None, unit=None, route=None, frequency=None,
                                        change="started")]),
        NS(name="ramipril", start=D(2019, 2, 3), end=None, last_documented=D(2019, 11, 2), end_reason=None,
           start_evidence=ev, doses=[NS(date=D(2019, 2, 3), dose=5, unit="mg", route=None, frequency="daily",
                                        change=None),
                                     NS(date=D(2019, 11, 2), dose=10, unit="mg", route="PO", frequency="daily",
                                        change="increased")]),
        NS(name="undated", start=None, end=None, last_documented=None, end_reason=None, start_evidence=ev, doses=[]),
    ]
    bars = R.medication_bars(ivs)
    assert [b["name"] for b in bars] == ["R-CHOP", "ramipril"]
    assert bars[0]["ongoing"] is False and bars[0]["end"] == D(2019, 6, 1)
    assert bars[1]["ongoing"] is True and bars[1]["end"] == D(2019, 11, 2)
    assert [d["label"] for d in bars[1]["doses"]] == ["5 mg daily", "increased: 10 mg PO daily"]
    assert bars[0]["doses"][0]["label"] == "started"
    later = R.medication_bars(ivs, until=D(2020, 1, 1))  # open intervals run to the last note
    assert later[1]["end"] == D(2020, 1, 1) and later[0]["end"] == D(2019, 6, 1)
    fig = R.timeline_figure(ivs)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["R-CHOP", "ramipril"]
    assert len(ax.patches) == 2
    assert R.timeline_figure([]) is None


def test_fact_rows_label_negated_and_family_history():
    from clinqa.records import Assertion, Experiencer, Fact, FactType

    facts = [
        Fact("p1", "p1/n1", 0, 12, "hypertension", FactType.PROBLEM, "hypertension", codes={"ICD10CM": "I10"},
             date=D(2020, 6, 15)),
        Fact("p1", "p1/n1", 20, 30, "chest pain", FactType.PROBLEM, "chest pain", assertion=Assertion.ABSENT),
        Fact("p1", "p1/n2", 5, 18, "breast cancer", FactType.PROBLEM, "breast cancer", experiencer=Experiencer.FAMILY),
        Fact("p1", "p1/n2", 40, 49, "metformin", FactType.DRUG, "metformin", historical=True),
    ]
    rows = R.fact_rows(facts)
    col = {c: i for i, c in enumerate(R.FACT_COLUMNS)}
    assert [r[col["assertion"]] for r in rows] == ["present", "negated", "present", "present (historical)"]
    assert rows[2][col["experiencer"]] == "family history"
    assert rows[0][col["code"]] == "ICD10CM:I10" and rows[0][col["date"]] == "2020-06-15"
    assert rows[1][col["span"]] == "20-30" and rows[1][col["note"]] == "p1/n1"
    assert [r[1] for r in R.fact_rows(facts, assertion="negated")] == ["chest pain"]
    assert [r[1] for r in R.fact_rows(facts, experiencer="family")] == ["breast cancer"]
    assert [r[1] for r in R.fact_rows(facts, type_="DRUG")] == ["metformin"]
    assert [r[1] for r in R.fact_rows(facts, query="i10")] == ["hypertension"]


def test_ingest_summary_names_each_problem_without_temp_paths():
    s = NS(added=0, versioned=0, unchanged=0, questions=0, patients=set(),
           failed=["/tmp/gradio/abc/broken.json: malformed JSON: Expecting value"],
           skipped=["/tmp/gradio/abc/x.pdf: unsupported file type .pdf"])
    h = R.ingest_summary_html(s, {"/tmp/gradio/abc/broken.json": "broken.json", "/tmp/gradio/abc/x.pdf": "x.pdf"})
    assert "cq-status-error" in h and "broken.json: malformed JSON" in h and "x.pdf: unsupported" in h
    assert "/tmp/" not in h and "1 failed" in h and "1 skipped" in h
    ok = NS(added=3, versioned=0, unchanged=0, questions=2, patients={"p1"}, failed=[], skipped=[])
    assert "cq-status-ok" in R.ingest_summary_html(ok) and "Ingested 3 new note(s)" in R.ingest_summary_html(ok)


def test_step_lines_read_like_steps():
    assert "Route" in R.step_line("route", "route:a,b", {"plan": ["retrieve.hybrid", "timeline.first"]})
    g = R.step_line("gather", "gather:retrieve(k=8)", {"n_passages": 13, "n_facts": 2, "n_computed": 0}, 0.5)
    assert "13 passage(s)" in g and "0.50 s" in g
    g2 = R.step_line("gather", "gather:retrieve", {"n_passages": 1, "evidence": [
        {"note_id": "p/text_0", "note_date": "2021-03-02", "source": "retrieval", "quote": "Started *ceftriaxone*"}]})
    assert "p/text\\_0" in g2 and "ceftriaxone" in g2 and "\\*ceftriaxone\\*" in g2  # escaped Markdown
    assert "Verified" in R.step_line("verify", "", {"status": "verified"})
    assert "choice A" in R.step_line("reason", "", {"choice": "A", "cited": ["E1"], "draft": "x"})
    assert "Other" in R.step_line("other", "something")


def test_md_escape():
    assert R.md_escape("<a>*_`[x]") == "&lt;a&gt;\\*\\_\\`\\[x\\]"
