"""The clinqa web UI (Gradio 6): pick or upload a patient, ask cited questions, read timeline and facts.

``build_app(workspace, backend=...)`` returns the ``gr.Blocks``; ``launch(...)`` serves it with the
theme and stylesheet (Gradio 6 takes theme/css at launch). Everything shown from notes is escaped.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from clinqa.errors import ClinqaError, LLMUnavailableError, UnknownNoteError, UnknownPatientError
from ui import render as R

log = logging.getLogger(__name__)

LETTERS = ("A", "B", "C", "D", "E")
UPLOAD_TYPES = [".txt", ".md", ".json", ".csv"]
FACT_TYPES = ["all", "PROBLEM", "DRUG", "DOSE", "LAB", "VITAL", "PROCEDURE", "DATE", "SECTION"]
ASSERTIONS = ["all", "present", "negated", "possible", "hypothetical"]
EXPERIENCERS = ["all", "patient", "family", "other"]

# Citation buttons live inside the answer panel; one delegated listener turns a click into an event.
ANSWER_JS = """
element.addEventListener('click', (e) => {
  const b = e.target.closest('[data-cite]');
  if (b) { trigger('click', {cite: parseInt(b.dataset.cite, 10)}); }
});
"""
# After the viewer re-renders, bring the active highlight into view.
SCROLL_JS = """
() => {
  const go = () => {
    const m = document.querySelector('#note-viewer mark.cq-active');
    if (m) { m.scrollIntoView({block: 'center', behavior: 'instant'}); }
  };
  requestAnimationFrame(go); setTimeout(go, 120);
}
"""
VIEWER_JS = """
if (typeof watch === 'function') {
  watch('value', () => {
    const m = element.querySelector('mark.cq-active');
    if (m) { m.scrollIntoView({block: 'center', behavior: 'instant'}); }
  });
}
"""

CSS = """
.gradio-container { max-width: 1480px !important; margin: 0 auto; }
#cq-header { padding: 6px 2px 2px 2px; }
#cq-header h1 { font-size: 1.35rem; font-weight: 650; margin: 0; color: var(--body-text-color); letter-spacing: -0.01em; }
#cq-header p { margin: 2px 0 0 0; color: var(--body-text-color-subdued); font-size: 0.88rem; }
.cq-muted { color: var(--body-text-color-subdued); font-size: 0.9rem; margin: 6px 0; }
.cq-badge { display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border-radius: 999px;
  font-weight: 600; font-size: 0.85rem; border: 1px solid transparent; }
.cq-badge-verified { background: #dcfce7; color: #166534; border-color: #86efac; }
.cq-badge-partial { background: #fef3c7; color: #92400e; border-color: #fcd34d; }
.cq-badge-unsupported { background: #fee2e2; color: #991b1b; border-color: #fca5a5; }
.cq-badge-abstained { background: #e2e8f0; color: #334155; border-color: #cbd5e1; }
.cq-answer { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 12px 14px;
  background: var(--background-fill-primary); }
.cq-answer.cq-empty { border-style: dashed; }
.cq-answer-head { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.cq-choice { font-weight: 650; padding: 3px 10px; border-radius: 6px; background: #dbeafe; color: #1e40af; font-size: 0.85rem; }
.cq-choice-text { margin: 8px 0 0 0; }
.cq-answer-text { margin: 8px 0 4px 0; font-size: 0.97rem; line-height: 1.45; }
.cq-why { margin: 4px 0; font-size: 0.88rem; color: var(--body-text-color-subdued); }
.cq-opts { width: 100%; border-collapse: collapse; margin: 8px 0; font-size: 0.85rem; border: none !important; }
.cq-opts th, .cq-opts td { border-left: none !important; border-right: none !important; border-top: none !important; }
#refresh-btn { align-self: center; }
.cq-opt-row { gap: 8px !important; align-items: center; margin-bottom: 4px; }
.cq-opt-chip { display: inline-flex; width: 28px; height: 28px; border-radius: 6px; align-items: center;
  justify-content: center; font-weight: 650; background: #dbeafe; color: #1e40af; }
.cq-opt-box textarea, .cq-opt-box input { font-size: 0.9rem; }
#options-accordion .form, #options-accordion .block { margin-bottom: 4px; }
.cq-opts th { text-align: left; font-weight: 600; color: var(--body-text-color-subdued); border-bottom: 1px solid var(--border-color-primary); padding: 3px 6px; }
.cq-opts td { padding: 3px 6px; border-bottom: 1px solid var(--border-color-primary); }
.cq-opt-chosen td { background: #eff6ff; font-weight: 600; }
.cq-opt-letter { width: 1.5em; font-weight: 650; }
.cq-verdict-supported { color: #166534; } .cq-verdict-contradicted { color: #991b1b; }
.cq-verdict-not_documented { color: var(--body-text-color-subdued); }
.cq-cites-head { font-weight: 600; font-size: 0.85rem; margin: 10px 0 4px 0; color: var(--body-text-color-subdued);
  text-transform: uppercase; letter-spacing: 0.04em; }
.cq-cites { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 6px; }
.cq-cite { display: flex; gap: 10px; width: 100%; text-align: left; padding: 7px 9px; border-radius: 8px; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); font: inherit; color: inherit; }
.cq-cite:hover { border-color: #60a5fa; background: #eff6ff; }
.cq-cite-num { flex: none; width: 1.7em; height: 1.7em; border-radius: 50%; background: #2563eb; color: white;
  display: inline-flex; align-items: center; justify-content: center; font-size: 0.8rem; font-weight: 650; }
.cq-cite-body { display: flex; flex-direction: column; gap: 2px; min-width: 0; }
.cq-cite-meta { font-size: 0.78rem; color: var(--body-text-color-subdued); font-family: var(--font-mono); }
.cq-cite-quote { font-size: 0.88rem; }
.cq-answer-meta { margin-top: 8px; font-size: 0.75rem; color: var(--body-text-color-subdued); }
.cq-computed { margin: 4px 0; padding-left: 18px; font-size: 0.85rem; }
.cq-note { border: 1px solid var(--border-color-primary); border-radius: 10px; background: var(--background-fill-primary); }
.cq-note.cq-empty { padding: 12px; border-style: dashed; }
.cq-note-head { padding: 8px 12px; border-bottom: 1px solid var(--border-color-primary); background: var(--background-fill-secondary);
  border-radius: 10px 10px 0 0; }
.cq-note-title { font-weight: 650; }
.cq-note-meta { font-size: 0.78rem; color: var(--body-text-color-subdued); font-family: var(--font-mono); }
.cq-flag { background: #fef3c7; color: #92400e; padding: 0 6px; border-radius: 4px; margin-left: 4px; }
.cq-note-text { white-space: pre-wrap; word-wrap: break-word; margin: 0; padding: 10px 12px; max-height: 66vh; overflow-y: auto;
  font-family: var(--font-mono); font-size: 0.82rem; line-height: 1.5; background: transparent; border: none; }
mark.cq-mark { background: #fef9c3; color: inherit; border-bottom: 2px solid #facc15; padding: 0 1px; border-radius: 2px; }
mark.cq-mark.cq-active { background: #fde047; border-bottom-color: #ca8a04; box-shadow: 0 0 0 2px #fde04788; }
.cq-status { border-radius: 8px; padding: 8px 12px; font-size: 0.88rem; border: 1px solid; }
.cq-status ul { margin: 4px 0 0 0; padding-left: 18px; }
.cq-status-ok { background: #f0fdf4; border-color: #bbf7d0; color: #14532d; }
.cq-status-info { background: #f8fafc; border-color: #e2e8f0; color: #334155; }
.cq-status-warn { background: #fffbeb; border-color: #fde68a; color: #78350f; }
.cq-status-error { background: #fef2f2; border-color: #fecaca; color: #7f1d1d; }
.cq-status-head { font-weight: 600; }
.cq-section-title { font-weight: 650; font-size: 0.95rem; margin: 2px 0; }
#ask-btn { min-width: 120px; }
footer { display: none !important; }
#facts-table, #timeline-table { font-size: 0.82rem; }
"""


def make_theme() -> gr.themes.Base:
    """A quiet clinical theme using only system fonts (the app runs offline: no web fonts)."""
    return gr.themes.Soft(
        primary_hue="blue", secondary_hue="sky", neutral_hue="slate", radius_size="md",
        font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "DejaVu Sans Mono", "monospace"],
    )


class _Backend:
    """One ClinicalQA per backend name, built on first use (an LLM backend may take a while or fail)."""

    def __init__(self, ws, model: str | None, base_url: str | None):
        self.ws, self.model, self.base_url = ws, model, base_url
        self._qa: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, backend: str):
        with self._lock:
            qa = self._qa.get(backend)
            if qa is None:
                from agent.qa import ClinicalQA

                qa = ClinicalQA(self.ws, backend=backend, model=self.model if backend != "extractive" else None,
                                base_url=self.base_url if backend == "openai" else None)
                self._qa[backend] = qa
            return qa

    def close(self) -> None:
        with self._lock:
            for qa in self._qa.values():
                try:
                    qa.close()
                except Exception:  # closing must not raise in shutdown paths
                    pass
            self._qa.clear()


def build_app(workspace=None, backend: str = "extractive", model: str | None = None,
              base_url: str | None = None) -> gr.Blocks:
    """The Blocks app over one workspace. ``backend``: extractive | local | openai."""
    if workspace is None:
        from clinqa.workspace import Workspace

        workspace = Workspace()
    ws = workspace
    engines = _Backend(ws, model, base_url)
    backends = list(dict.fromkeys([backend, "extractive"]))

    # -- data access ------------------------------------------------------------------------------------
    def summaries() -> list[dict]:
        return ws.store.patient_summaries()

    def notes_of(pid: str | None) -> list:
        if not pid:
            return []
        try:
            return ws.store.notes(pid)
        except UnknownPatientError:
            return []

    def note_choices(pid: str | None) -> list[tuple[str, str]]:
        out = []
        for n in notes_of(pid):
            day = n.note_date.isoformat() if n.note_date else "undated"
            out.append((f"{day} · {n.title or n.note_type} · {n.note_id}", n.note_id))
        return out

    def render_note(note_id: str | None, highlights=()) -> str:
        if not note_id:
            return R.note_html(None)
        try:
            return R.note_html(ws.store.note(note_id), highlights)
        except UnknownNoteError as e:
            return R.status_html(str(e), "error")

    def question_choices(pid: str | None) -> list[tuple[str, str]]:
        if not pid:
            return []
        try:
            qs = ws.store.questions(pid)
        except ClinqaError:
            return []
        return [(f"Q{q.question_id}: {R.one_line(q.text, 90)}", q.question_id) for q in qs]

    def timeline_data(pid: str | None, types, abnormal_only: bool):
        empty = pd.DataFrame([], columns=R.TIMELINE_COLUMNS)
        if not pid:
            return None, "Pick a patient to see the timeline.", empty
        try:
            tl = ws.graphs.timeline(pid)
            ivs = ws.graphs.medication_intervals(pid)
        except UnknownPatientError as e:
            return None, str(e), empty
        except Exception as e:  # the graph layer must not take the page down
            log.exception("timeline failed")
            return None, f"The timeline could not be built ({type(e).__name__}: {e}).", empty
        rows = R.timeline_rows(tl.items, types or [], abnormal_only)
        dates = [n.note_date for n in notes_of(pid) if n.note_date and n.date_known]
        fig = R.timeline_figure(ivs.items, until=max(dates) if dates else None)
        msg = f"{tl.message}; {ivs.message}. Select a row to see its evidence in the note viewer."
        if not tl.items:
            msg = (f"{tl.message}. Events come from the facts extracted at ingest; "
                   "when extraction is off or unavailable the timeline stays empty.")
        return fig, msg, pd.DataFrame(rows, columns=R.TIMELINE_COLUMNS)

    def facts_data(pid: str | None, ftype: str, assertion: str, experiencer: str, query: str):
        empty = pd.DataFrame([], columns=R.FACT_COLUMNS)
        if not pid:
            return "Pick a patient to see the extracted facts.", empty
        try:
            facts = ws.store.facts(pid)
        except UnknownPatientError as e:
            return str(e), empty
        if ftype == "all":
            facts_shown = [f for f in facts if getattr(f.type, "value", f.type) not in ("SECTION",)]
        else:
            facts_shown = facts
        rows = R.fact_rows(facts_shown, ftype, assertion, experiencer, query)
        if not facts:
            msg = ("No extracted facts for this patient yet (extraction runs at ingest; it may be off or "
                   "not installed).")
        else:
            msg = (f"{len(rows)} of {len(facts)} fact(s) shown. Negated facts read *negated*, family history "
                   "reads *family history*. Select a row to see it in the note viewer.")
        return msg, pd.DataFrame(rows, columns=R.FACT_COLUMNS)

    # -- handlers -----------------------------------------------------------------------------------------
    def on_refresh(current: str | None):
        rows = summaries()
        ids = [r["patient_id"] for r in rows]
        value = current if current in ids else (ids[0] if ids else None)
        return gr.Dropdown(choices=R.patient_choices(rows), value=value)

    def on_views(pid: str | None, types, abnormal_only, ftype, assertion, experiencer, query, note_id=None, cites=None):
        """Notes, sample questions, timeline and facts of the patient (the conversation is left alone)."""
        notes = note_choices(pid)
        ids = [v for _, v in notes]
        keep = note_id if note_id in ids else (ids[0] if ids else None)
        fig, tl_msg, tl_df = timeline_data(pid, types, abnormal_only)
        f_msg, f_df = facts_data(pid, ftype, assertion, experiencer, query)
        hl = R.citation_highlights(cites or [], keep, None) if keep and keep == note_id else ()
        return (
            gr.Dropdown(choices=notes, value=keep),
            render_note(keep, hl),
            gr.Dropdown(choices=question_choices(pid), value=None),
            gr.Plot(value=fig, visible=fig is not None),
            tl_msg, tl_df, f_msg, f_df,
        )

    def on_patient(pid: str | None, types, abnormal_only, ftype, assertion, experiencer, query):
        """A different patient: fresh views and a fresh conversation (answers belong to one patient)."""
        return (*on_views(pid, types, abnormal_only, ftype, assertion, experiencer, query),
                [], R.answer_html(None), [], {})

    def on_ingest(files, pid_text: str, current: str | None, progress=gr.Progress()):
        from clinqa.records import Patient
        from graph_store.readers import ReadItem, ReadProblem, read_path, read_text_note

        paths = [Path(f if isinstance(f, str) else getattr(f, "name", f)) for f in (files or [])]
        if not paths:
            gr.Warning("Choose one or more files to upload first.")
            return (on_refresh(current), R.status_html("No files chosen: drop .txt, .md, .json or .csv files above.",
                                                       "warn"), gr.update(), gr.update())
        staging = Path(tempfile.mkdtemp(prefix="clinqa-upload-"))
        rename: dict[str, str] = {}
        inputs: list[Path] = []
        problems: list[ReadProblem] = []
        text_pid = (pid_text or "").strip() or (current or "")  # the id as typed: never made "filesystem safe"
        text_notes: dict[str, str] = {}
        for p in paths:
            name = p.name
            if p.suffix.lower() in (".txt", ".md"):
                if not text_pid:
                    problems.append(ReadProblem(name, "a .txt/.md note needs a patient id: type one in "
                                                      "'Patient id for .txt/.md notes' (or pick a patient)"))
                    continue
                dest = staging / f"{len(text_notes)}" / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(p, dest)
                rename[str(dest)] = name
                text_notes[str(dest)] = text_pid
                inputs.append(dest)
            else:
                rename[str(p)] = name
                inputs.append(p)

        def items():
            yield from problems
            for i, p in enumerate(inputs):
                progress((i, len(inputs)), desc=f"Reading {rename.get(str(p), p.name)}", unit="files")
                if str(p) in text_notes:  # a typed patient id: the note is read under that id exactly
                    try:
                        pid = text_notes[str(p)]
                        yield ReadItem(Patient(pid), [read_text_note(p, pid)], source=p.name)
                    except (ValueError, OSError) as e:
                        yield ReadProblem(p.name, str(e))
                    continue
                for j, item in enumerate(read_path(p)):
                    if not isinstance(item, ReadProblem):
                        progress((i, len(inputs)), desc=f"Ingesting {rename.get(str(p), p.name)}: "
                                                        f"{item.patient.patient_id} ({len(item.notes)} note(s))",
                                 unit="files")
                    yield item
            progress((len(inputs), len(inputs)), desc="Indexing", unit="files")

        try:
            summary = ws.ingest_items(items(), progress=False)
        except ClinqaError as e:
            gr.Warning(str(e))
            return on_refresh(current), R.status_html(f"Ingest failed: {e}", "error"), gr.update(), gr.update()
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        box = R.ingest_summary_html(summary, rename)
        if summary.failed:
            gr.Warning(f"{len(summary.failed)} file(s) or record(s) could not be ingested; see the status box.")
        rows = summaries()
        ids = [r["patient_id"] for r in rows]
        new = sorted(summary.patients & set(ids))
        value = current if current in ids else (new[0] if new else (ids[0] if ids else None))
        ok = bool(summary.added or summary.versioned or summary.unchanged)
        return gr.Dropdown(choices=R.patient_choices(rows), value=value), box, gr.Accordion(open=not ok), None

    def on_sample(pid: str | None, qid: str | None):
        if not pid or not qid:
            return (gr.update(),) * 6
        for q in ws.store.questions(pid):
            if q.question_id == qid:
                return (q.text, *[q.options.get(k, "") for k in LETTERS])
        return (gr.update(),) * 6

    def on_clear_options():
        return ("",) * len(LETTERS)

    def on_ask(pid, question, a, b, c, d, e, history, backend_name):
        history = list(history or [])
        opts = {k: v.strip() for k, v in zip(LETTERS, (a, b, c, d, e)) if v and v.strip()}
        if not pid:
            gr.Warning("Pick a patient first.")
            yield history, gr.update(), gr.update(), gr.update(), R.status_html("Pick a patient first (or upload notes).", "warn")
            return
        if not (question or "").strip():
            gr.Warning("Type a question first.")
            yield history, gr.update(), gr.update(), gr.update(), R.status_html("Type a question about the patient.", "warn")
            return
        user = question.strip()
        if opts:
            user += "\n\n" + "\n".join(f"{k}. {v}" for k, v in opts.items())
        history.append({"role": "user", "content": R.md_escape(user)})
        steps: list[str] = []
        thought = {"role": "assistant", "content": "Starting…",
                   "metadata": {"title": "Agent steps", "status": "pending"}}
        history.append(thought)
        yield history, gr.update(), gr.update(), gr.update(), R.status_html("Answering…", "info")
        try:
            qa = engines.get(backend_name or backend)
            answer = None
            for ev in qa.ask_stream(pid, question, opts or None):
                steps.append("- " + R.step_line(ev.node, ev.summary, ev.data, ev.elapsed_s))
                thought["content"] = "\n".join(steps)
                if ev.answer is not None:
                    answer = ev.answer
                yield history, gr.update(), gr.update(), gr.update(), gr.update()
        except LLMUnavailableError as err:
            msg = (f"The language model is unavailable: {err}. Start the LLM server or switch the answer engine "
                   f"to 'extractive'; your question is kept.")
            yield from _fail(history, thought, msg)
            return
        except ClinqaError as err:
            yield from _fail(history, thought, str(err))
            return
        except Exception as err:  # show, don't crash the session
            log.exception("ask failed")
            yield from _fail(history, thought, f"Unexpected error ({type(err).__name__}: {err})")
            return
        if answer is None:
            yield from _fail(history, thought, "The agent finished without an answer.")
            return
        thought["metadata"] = {"title": "Agent steps", "status": "done",
                               "duration": round(answer.timings.get("total", 0.0), 2)}
        history.append({"role": "assistant", "content": R.answer_markdown(answer, opts)})
        cites = [c.model_dump() for c in answer.citations]
        yield (history, R.answer_html(answer, opts), cites, {"answer": answer.model_dump(), "options": opts},
               R.status_html(f"Answered: {R.badge_label(answer.verification.status)} · {len(cites)} citation(s).", "ok"))

    def _fail(history, thought, msg):
        thought["metadata"] = {"title": "Agent steps", "status": "done"}
        history.append({"role": "assistant", "content": "⚠ " + R.md_escape(msg)})
        gr.Warning(msg)
        yield history, gr.update(), gr.update(), gr.update(), R.status_html(msg, "error")

    def on_cite(cites, evt: gr.EventData):
        data = getattr(evt, "_data", None) or {}
        try:
            n = int(data.get("cite"))
        except (TypeError, ValueError):
            return gr.update(), gr.update()
        if not cites or not 1 <= n <= len(cites):
            return gr.update(), gr.update()
        c = cites[n - 1]
        hl = R.citation_highlights(cites, c["note_id"], n)
        return gr.Dropdown(value=c["note_id"]), render_note(c["note_id"], hl)

    def on_note_pick(note_id, cites):
        return render_note(note_id, R.citation_highlights(cites or [], note_id, None) if note_id else ())

    def on_row(evt: gr.SelectData, note_col: int, span_col: int):
        row = evt.row_value or []
        if len(row) <= max(note_col, span_col):
            return gr.update(), gr.update()
        note_id, span = row[note_col], R.parse_span(row[span_col])
        if not note_id or span is None:
            return gr.update(), gr.update()
        return gr.Dropdown(value=note_id), render_note(note_id, [R.Highlight(span[0], span[1], "ev", True)])

    # -- layout ---------------------------------------------------------------------------------------------
    initial = summaries()
    first_pid = initial[0]["patient_id"] if initial else None
    with gr.Blocks(title="clinqa · clinical question answering", analytics_enabled=False) as app:
        gr.HTML(
            '<div id="cq-header"><h1>clinqa · clinical question answering</h1>'
            "<p>Answers about one patient, from that patient's notes only: every answer is cited and verified; "
            "when the notes are silent it says so.</p></div>"
        )
        with gr.Row(elem_id="cq-topbar"):
            patient = gr.Dropdown(choices=R.patient_choices(initial), value=first_pid, label="Patient",
                                  info="name · id · notes · date range", elem_id="patient-picker", scale=5,
                                  interactive=True)
            refresh = gr.Button("↻ Refresh", elem_id="refresh-btn", scale=0, min_width=110, size="md")
            engine = gr.Dropdown(choices=backends, value=backend, label="Answer engine", scale=1, min_width=170,
                                 info="extractive needs no model", elem_id="backend-picker")
        with gr.Accordion("Add notes", open=not initial, elem_id="upload-accordion") as upload_acc:
            with gr.Row():
                upload = gr.File(label="Notes: .txt/.md, FHIR R4 Bundle/DocumentReference JSON, LongHealth JSON, CSV",
                                 file_count="multiple", file_types=UPLOAD_TYPES, type="filepath",
                                 elem_id="upload-box", scale=3, height=130)
                with gr.Column(scale=1, min_width=220):
                    upload_pid = gr.Textbox(label="Patient id for .txt/.md notes", placeholder="e.g. patient_07",
                                            elem_id="upload-pid", info="JSON and CSV carry their own ids")
                    ingest_btn = gr.Button("Ingest files", variant="primary", elem_id="ingest-btn")
        status = gr.HTML(R.status_html(
            f"{len(initial)} patient(s) in the workspace." if initial else "No patients yet: add notes above.",
            "info"), elem_id="status-box")

        with gr.Row():
            with gr.Column(scale=3, min_width=520):
                with gr.Tabs(elem_id="main-tabs"):
                    with gr.Tab("Ask", id="tab-ask", elem_id="tab-ask"):
                        chat = gr.Chatbot(label="Conversation", show_label=False, elem_id="chat", height=300,
                                          layout="panel", buttons=["copy"], feedback_options=None,
                                          placeholder="Ask about the selected patient. The agent's steps stream "
                                                      "here, then the verified answer.")
                        answer_panel = gr.HTML(R.answer_html(None), elem_id="answer-panel", js_on_load=ANSWER_JS)
                        with gr.Group(elem_id="ask-box"):
                            samples = gr.Dropdown(choices=question_choices(first_pid), value=None,
                                                  label="Sample questions for this patient (optional)",
                                                  elem_id="sample-q", interactive=True)
                            question = gr.Textbox(label="Question", placeholder="e.g. Which chemotherapy protocol "
                                                  "was started first?", lines=2, elem_id="question")
                        with gr.Accordion("Answer options (multiple choice, optional)", open=False,
                                          elem_id="options-accordion"):
                            opt_boxes = []
                            for k in LETTERS:
                                with gr.Row(equal_height=True, elem_classes=["cq-opt-row"]):
                                    gr.HTML(f'<span class="cq-opt-chip">{k}</span>', scale=0, min_width=34)
                                    opt_boxes.append(gr.Textbox(show_label=False, lines=1, elem_id=f"opt-{k}",
                                                                container=False, placeholder=f"Option {k}",
                                                                elem_classes=["cq-opt-box"], scale=20))
                        with gr.Row():
                            ask_btn = gr.Button("Ask", variant="primary", elem_id="ask-btn", scale=3)
                            clear_opts = gr.Button("Clear options", elem_id="clear-opts", scale=1)
                    with gr.Tab("Timeline", id="tab-timeline", elem_id="tab-timeline"):
                        tl_msg = gr.Markdown(elem_id="timeline-msg")
                        tl_plot = gr.Plot(label="Medication intervals", show_label=False, elem_id="timeline-plot",
                                          visible=False)
                        with gr.Row(equal_height=True):
                            tl_types = gr.Dropdown(choices=[(R.EVENT_LABELS[t], t) for t in R.EVENT_LABELS],
                                                   value=list(R.TIMELINE_DEFAULT_TYPES), multiselect=True,
                                                   label="Event types", elem_id="timeline-types", scale=4)
                            tl_abnormal = gr.Checkbox(value=True, label="Abnormal labs only", scale=1,
                                                      elem_id="timeline-abnormal")
                        tl_table = gr.Dataframe(headers=R.TIMELINE_COLUMNS, interactive=False, wrap=True,
                                                elem_id="timeline-table", max_height=420, label="Events by date",
                                                column_widths=["13%", "11%", "15%", "12%", "14%", "8%", "27%"])
                    with gr.Tab("Facts", id="tab-facts", elem_id="tab-facts"):
                        with gr.Row():
                            f_type = gr.Dropdown(FACT_TYPES, value="all", label="Type", elem_id="facts-type")
                            f_assert = gr.Dropdown(ASSERTIONS, value="all", label="Assertion", elem_id="facts-assertion")
                            f_exp = gr.Dropdown(EXPERIENCERS, value="all", label="Experiencer", elem_id="facts-exp")
                            f_query = gr.Textbox(label="Search name, text or code", elem_id="facts-query")
                        f_msg = gr.Markdown(elem_id="facts-msg")
                        f_table = gr.Dataframe(headers=R.FACT_COLUMNS, interactive=False, wrap=True,
                                               elem_id="facts-table", max_height=480, label="Extracted facts",
                                               column_widths=["9%", "14%", "18%", "11%", "11%", "10%", "9%",
                                                              "11%", "7%"])
            with gr.Column(scale=2, min_width=380):
                gr.HTML('<div class="cq-section-title">Note viewer</div>')
                note_pick = gr.Dropdown(choices=note_choices(first_pid), label="Note", elem_id="note-picker",
                                        value=(note_choices(first_pid) or [(None, None)])[0][1], interactive=True)
                viewer = gr.HTML(render_note((note_choices(first_pid) or [(None, None)])[0][1]),
                                 elem_id="note-viewer", js_on_load=VIEWER_JS)

        cites_state = gr.State([])
        answer_state = gr.State({})

        # -- wiring -------------------------------------------------------------------------------------------
        view_outputs = [note_pick, viewer, samples, tl_plot, tl_msg, tl_table, f_msg, f_table,
                        chat, answer_panel, cites_state, answer_state]
        view_inputs = [patient, tl_types, tl_abnormal, f_type, f_assert, f_exp, f_query]
        refresh_inputs = [*view_inputs, note_pick, cites_state]
        refresh_outputs = view_outputs[:8]
        patient.change(on_patient, view_inputs, view_outputs)
        refresh.click(on_refresh, [patient], [patient]).then(on_views, refresh_inputs, refresh_outputs)
        ingest_btn.click(on_ingest, [upload, upload_pid, patient], [patient, status, upload_acc, upload]).then(
            on_views, refresh_inputs, refresh_outputs)
        samples.input(on_sample, [patient, samples], [question, *opt_boxes])
        clear_opts.click(on_clear_options, None, opt_boxes)
        ask_inputs = [patient, question, *opt_boxes, chat, engine]
        ask_outputs = [chat, answer_panel, cites_state, answer_state, status]
        ask_btn.click(on_ask, ask_inputs, ask_outputs)
        question.submit(on_ask, ask_inputs, ask_outputs)
        answer_panel.click(on_cite, [cites_state], [note_pick, viewer]).then(None, js=SCROLL_JS)
        note_pick.input(on_note_pick, [note_pick, cites_state], [viewer])
        tl_inputs = [patient, tl_types, tl_abnormal]
        for comp in (tl_types, tl_abnormal):
            comp.change(lambda p, t, a: timeline_data(p, t, a)[2], tl_inputs, [tl_table])
        f_inputs = [patient, f_type, f_assert, f_exp, f_query]
        for comp in (f_type, f_assert, f_exp):
            comp.change(facts_data, f_inputs, [f_msg, f_table])
        f_query.submit(facts_data, f_inputs, [f_msg, f_table])
        f_query.change(facts_data, f_inputs, [f_msg, f_table])
        tl_note, tl_span = R.TIMELINE_COLUMNS.index("note"), R.TIMELINE_COLUMNS.index("span")
        f_note, f_span = R.FACT_COLUMNS.index("note"), R.FACT_COLUMNS.index("span")

        def on_tl_row(evt: gr.SelectData):
            return on_row(evt, tl_note, tl_span)

        def on_fact_row(evt: gr.SelectData):
            return on_row(evt, f_note, f_span)

        tl_table.select(on_tl_row, None, [note_pick, viewer]).then(None, js=SCROLL_JS)
        f_table.select(on_fact_row, None, [note_pick, viewer]).then(None, js=SCROLL_JS)
        app.load(on_patient, view_inputs, view_outputs)

    app.clinqa_engines = engines  # so callers (tests, launch) can close LLM clients
    return app


def launch(workspace=None, host: str = "127.0.0.1", port: int = 7860, backend: str = "extractive",
           model: str | None = None, base_url: str | None = None, *, prevent_thread_lock: bool = False,
           quiet: bool = False, auth: list[tuple[str, str]] | None = None) -> gr.Blocks:
    """Build and serve the app (blocking unless ``prevent_thread_lock``); returns the Blocks.

    ``auth``: (user, password) pairs; when given, Gradio's login page guards every page and API call.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app(workspace, backend=backend, model=model, base_url=base_url)
    app.queue(default_concurrency_limit=4)
    app.launch(server_name=host, server_port=port, prevent_thread_lock=prevent_thread_lock, quiet=quiet,
               theme=make_theme(), css=CSS, footer_links=[], share=False, inbrowser=False, show_error=True,
               auth=auth or None)
    return app
