"""The web UI driven the way a person uses it: headless Chromium (Debian's) + Playwright, extractive backend.

Screenshots go to ``test-artifacts/ui/`` at the repository root.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
SAMPLE = ROOT / "tests" / "retrieval" / "data" / "longhealth_mini.json"
CHROMIUM = "/usr/bin/chromium"
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
QUESTION = "What was the date of the lymph node biopsy that led to the first diagnosis?"
OPTIONS = {"A": "01/22/2019", "B": "02/05/2019", "C": "10/14/2019", "D": "04/18/2019", "E": "01/28/2019"}
T = 60_000  # ms: generous on a shared 2-core machine


def _chromium() -> str:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip(f"{CHROMIUM} is missing and installing it needs root: run `apt-get install -y chromium`")
    try:
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True, capture_output=True, timeout=900,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    except (subprocess.SubprocessError, OSError) as e:
        pytest.skip(f"could not install Debian's chromium with apt-get ({e})")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"apt-get ran but {CHROMIUM} is still missing")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("gradio")
    from clinqa.workspace import Workspace
    from ui.app import launch

    ws = Workspace(tmp_path_factory.mktemp("uiws"), extract=False, chunk=False)  # fresh and fast: notes only
    port = _free_port()
    app = launch(ws, host="127.0.0.1", port=port, backend="extractive", prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", ws
    app.close()
    app.clinqa_engines.close()
    ws.store.close()


@pytest.fixture(scope="module")
def page(server, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    exe = _chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path_factory.mktemp("chromium-profile")  # empty user-data dir
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile), executable_path=exe, headless=True, args=CHROME_ARGS,
            viewport={"width": 1440, "height": 1000}, device_scale_factor=1,
        )
        pg = ctx.pages[0] if ctx.pages else ctx.new_page()
        pg.set_default_timeout(T)
        pg.goto(server[0], wait_until="domcontentloaded")
        pg.locator("#patient-picker").wait_for()
        yield pg
        ctx.close()


def _shot(pg, name: str) -> None:
    pg.wait_for_function("() => !document.body.innerText.includes('processing |')", timeout=T)
    pg.wait_for_timeout(300)  # let toasts and the plot settle
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _open_upload(pg) -> None:
    if not pg.locator("#upload-box").is_visible():
        pg.locator("#upload-accordion").get_by_text("Add notes").first.click()
    pg.locator("#upload-box").wait_for(state="visible")


def _upload(pg, paths: list[Path]) -> None:
    from playwright.sync_api import expect

    _open_upload(pg)
    pg.locator("#upload-box input[type=file]").set_input_files([str(p) for p in paths])
    for p in paths:  # the upload finishes when the file list shows each name (Gradio splits stem / suffix)
        expect(pg.locator("#upload-box")).to_contain_text(p.stem, timeout=T)
    pg.locator("#ingest-btn").click()


def _pick(pg, elem_id: str, text: str) -> None:
    pg.locator(f"#{elem_id} input").first.click()
    pg.get_by_role("option", name=re.compile(re.escape(text))).first.click()


def _fill(pg, elem_id: str, value: str) -> None:
    pg.locator(f"#{elem_id} textarea, #{elem_id} input").first.fill(value)


def _norm(s: str) -> str:
    return " ".join(s.split())


def test_upload_ask_cite_timeline_facts(server, page, tmp_path):
    from playwright.sync_api import expect

    url, ws = server
    pg = page
    _shot(pg, "01-empty")

    # upload a LongHealth JSON (3 patients, 9 notes) and see what was ingested
    sample = tmp_path / "longhealth_mini.json"
    shutil.copyfile(SAMPLE, sample)
    _upload(pg, [sample])
    expect(pg.locator("#status-box")).to_contain_text("Ingested 9 new note(s)", timeout=T)
    expect(pg.locator("#status-box")).to_contain_text("3 patient(s)")

    # pick the patient (the picker shows name, id, note count and dates)
    _pick(pg, "patient-picker", "Anna Berger")
    expect(pg.locator("#patient-picker input").first).to_have_value(re.compile("Anna Berger · patient_01 · 3 notes"))
    expect(pg.locator("#note-viewer .cq-note")).to_have_attribute("data-note-id", re.compile("patient_01/"))

    # ask with answer options
    _fill(pg, "question", QUESTION)
    pg.locator("#options-accordion").get_by_text("Answer options").first.click()
    for k, v in OPTIONS.items():
        _fill(pg, f"opt-{k}", v)
    pg.locator("#ask-btn").click()
    badge = pg.locator("#answer-panel .cq-badge")
    expect(badge).to_be_visible(timeout=T)
    expect(badge).to_have_attribute("data-status", "verified")
    expect(badge).to_contain_text("Verified")
    expect(pg.locator("#answer-choice")).to_have_text("Option A")
    expect(pg.locator("#answer-text")).to_contain_text("01/22/2019")
    steps = pg.locator("#chat").get_by_text("Agent steps").first
    expect(steps).to_be_visible()
    pg.wait_for_timeout(500)  # the finished steps fold up once the answer arrives; open them as a user would
    for _ in range(3):
        if "Route" in pg.locator("#chat").inner_text():
            break
        steps.click()
        pg.wait_for_timeout(700)
    expect(pg.locator("#chat")).to_contain_text("Route")  # the agent's steps were shown
    expect(pg.locator("#chat")).to_contain_text("Verify")
    # the question and options stay where they were typed
    expect(pg.locator("#question textarea, #question input").first).to_have_value(QUESTION)
    _shot(pg, "02-answer")

    # the same question in-process gives the expected citation
    from agent.qa import ClinicalQA

    ans = ClinicalQA(ws, backend="extractive").ask("patient_01", QUESTION, OPTIONS)
    assert ans.choice == "A" and ans.citations
    cite = ans.citations[0]

    # click citation 1: the viewer opens that note with the cited span highlighted and in view
    pg.locator("#answer-panel [data-cite='1']").click()
    mark = pg.locator("#note-viewer mark.cq-active")
    expect(mark).to_be_visible(timeout=T)
    expect(pg.locator("#note-viewer .cq-note")).to_have_attribute("data-note-id", cite.note_id)
    note_text = ws.store.note(cite.note_id).text
    shown = mark.text_content()
    assert shown == cite.quote == note_text[cite.start:cite.end]
    assert (int(mark.get_attribute("data-start")), int(mark.get_attribute("data-end"))) == (cite.start, cite.end)
    btn_quote = pg.locator("#answer-panel [data-cite='1'] .cq-cite-quote").text_content()
    assert _norm(btn_quote).strip("“”") == _norm(cite.quote)
    in_view = mark.evaluate(
        "m => { const r = m.getBoundingClientRect(); const c = m.closest('pre').getBoundingClientRect();"
        " return r.top >= c.top - 1 && r.bottom <= c.bottom + 1 && r.bottom <= window.innerHeight + 1; }")
    assert in_view, "the highlighted span is not scrolled into view"
    mark.scroll_into_view_if_needed()
    _shot(pg, "03-citation-highlight")

    # timeline and facts: seed hand-made facts (the extractors layer may not be installed) and refresh
    _seed_facts(ws)
    pg.locator("#refresh-btn").click()
    expect(pg.locator("#chat")).to_contain_text("Sources: [1]")  # refreshing keeps the conversation
    pg.get_by_role("tab", name="Timeline").click()
    table = pg.locator("#timeline-table")
    expect(table).to_contain_text("R-CHOP", timeout=T)
    expect(pg.locator("#timeline-plot")).to_be_visible()
    _shot(pg, "04-timeline")
    cell = table.get_by_text("febrile neutropenia").first
    cell.click()
    mark = pg.locator("#note-viewer mark.cq-active")
    expect(mark).to_have_text("febrile neutropenia", timeout=T)
    nid = pg.locator("#note-viewer .cq-note").get_attribute("data-note-id")
    s, e = int(mark.get_attribute("data-start")), int(mark.get_attribute("data-end"))
    assert ws.store.note(nid).text[s:e] == "febrile neutropenia"

    pg.get_by_role("tab", name="Facts").click()
    ftable = pg.locator("#facts-table")
    expect(ftable).to_contain_text("lymphoma infiltration", timeout=T)
    expect(ftable).to_contain_text("negated")
    _pick(pg, "facts-assertion", "negated")
    expect(pg.locator("#facts-msg")).to_contain_text("1 of", timeout=T)
    expect(ftable).not_to_contain_text("Ramipril")
    _pick(pg, "facts-assertion", "all")
    expect(ftable).to_contain_text("Ramipril", timeout=T)
    _shot(pg, "05-facts")


def test_bad_uploads_show_clear_errors(server, page, tmp_path):
    from playwright.sync_api import expect

    pg = page
    pg.get_by_role("tab", name="Ask").click()
    _fill(pg, "question", "Which chemotherapy protocol was started first?")
    bad_json = tmp_path / "broken.json"
    bad_json.write_text('{"patient_09": {"texts": ', encoding="utf-8")
    binary = tmp_path / "scan.txt"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04" * 64)
    _open_upload(pg)
    _fill(pg, "upload-pid", "patient_09")
    _upload(pg, [bad_json, binary])
    box = pg.locator("#status-box")
    expect(box).to_contain_text("2 failed", timeout=T)
    expect(box).to_contain_text("0 unchanged")  # the earlier upload is not sent again
    expect(box).to_contain_text("broken.json: malformed JSON")
    expect(box).to_contain_text("scan.txt")
    expect(box).to_contain_text("binary")
    expect(box.locator(".cq-status-error, .cq-status-warn").first).to_be_visible()
    assert "/tmp/" not in box.text_content(), "temporary upload paths leak into the message"
    # nothing typed is lost
    expect(pg.locator("#question textarea, #question input").first).to_have_value(
        "Which chemotherapy protocol was started first?")
    _shot(pg, "06-bad-upload")


def _seed_facts(ws) -> None:
    """Hand-made facts for patient_01, anchored to exact note spans."""
    from clinqa.records import Assertion, DateKind, Fact, FactType, Relation

    notes = {n.source_key: n for n in ws.store.notes("patient_01")}

    def f(key, surface, ftype, name, **kw):
        n = notes[key]
        start = n.text.index(surface)
        return Fact(n.patient_id, n.note_id, start, start + len(surface), surface, ftype, name, **kw)

    by_note = {
        "text_0": [
            f("text_0", "Diffuse large B-cell lymphoma", FactType.PROBLEM, "diffuse large b-cell lymphoma",
              codes={"ICD10CM": "C83.3"}, section="Diagnoses"),
            f("text_0", "Arterial hypertension", FactType.PROBLEM, "hypertension", codes={"ICD10CM": "I10"}),
            f("text_0", "excisional biopsy", FactType.PROCEDURE, "excisional biopsy", date=dt.date(2019, 1, 22),
              date_kind=DateKind.OCCURRED, date_text="01/22/2019"),
            f("text_0", "lymphoma infiltration", FactType.PROBLEM, "lymphoma infiltration", assertion=Assertion.ABSENT,
              assertion_triggers=["neg:no"]),
            f("text_0", "R-CHOP", FactType.DRUG, "R-CHOP", attributes={"change": "started"},
              date=dt.date(2019, 2, 5), date_kind=DateKind.OCCURRED, date_text="02/05/2019"),
            f("text_0", "Ramipril", FactType.DRUG, "ramipril",
              attributes={"dose": 5, "unit": "mg", "frequency": "once daily"}),
        ],
        "text_1": [
            f("text_1", "R-CHOP", FactType.DRUG, "R-CHOP", attributes={"change": "continued"}),
            f("text_1", "febrile neutropenia", FactType.PROBLEM, "febrile neutropenia"),
            f("text_1", "Hemoglobin 10.9 g/dL", FactType.LAB, "hemoglobin",
              attributes={"value": 10.9, "unit": "g/dL", "abnormal": "low"}),
        ],
        "text_2": [
            f("text_2", "Ramipril", FactType.DRUG, "ramipril",
              attributes={"dose": 5, "unit": "mg", "frequency": "once daily"}),
            f("text_2", "Pregabalin", FactType.DRUG, "pregabalin",
              attributes={"dose": 75, "unit": "mg", "frequency": "twice daily", "change": "started"}),
        ],
    }
    # febrile neutropenia as an adverse event of R-CHOP
    fn, rchop = by_note["text_1"][1], by_note["text_1"][0]
    fn.relations = [Relation("adverse_event_of", rchop.fact_id)]
    for key, facts in by_note.items():
        ws.store.replace_derived(notes[key].note_id, facts)
    ws.graphs.invalidate("patient_01")
    json.dumps([x.to_dict() for x in facts])  # the records serialise (sanity)
