"""Batch evaluation on LongHealth-style sets: three tasks, any backend and mode, resumable.

Task 1: the patient's own documents. Task 2: the patient's documents plus
distractor documents from other patients, option F "cannot be answered"
offered. Task 3: only other patients' documents; the correct answer is F.
As in LongHealth, distractors are ingested under the question's patient.
Each task gets its own patient id (``<patient>__t2``) inside one workspace.
"""
from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from clinqa.errors import ClinqaError, InputError
from clinqa.records import Note, Patient, Question
from graph_store.readers import ReadItem, ReadProblem, read_path

ABSTAIN_OPTION = "F"
ABSTAIN_TEXT = "Question cannot be answered with provided documents"


@dataclass
class EvalPatient:
    patient: Patient
    notes: list[Note]
    questions: list[Question]


@dataclass
class EvalSet:
    path: Path
    patients: dict[str, EvalPatient]

    @property
    def n_questions(self) -> int:
        return sum(len(p.questions) for p in self.patients.values())


def load_set(path: str | Path) -> EvalSet:
    """Read a LongHealth JSON set (public shape or the generator's richer form)."""
    path = Path(path)
    patients: dict[str, EvalPatient] = {}
    problems: list[str] = []
    for item in read_path(path):
        if isinstance(item, ReadProblem):
            if not item.skipped:
                problems.append(str(item))
            continue
        assert isinstance(item, ReadItem)
        patients[item.patient.patient_id] = EvalPatient(item.patient, item.notes, item.questions)
    if not patients:
        raise InputError(f"{path}: no patients could be read" + (f" ({problems[0]})" if problems else ""))
    if not any(p.questions for p in patients.values()):
        raise InputError(f"{path}: the set holds no questions")
    return EvalSet(path, patients)


# -- gold evidence -----------------------------------------------------------------------------------
def gold_spans(q: Question, notes_by_key: dict[str, Note]) -> list[tuple[str, int, int]]:
    """Gold evidence as (source_key, start, end): exact ``answer_spans`` when present, else LongHealth fractions.

    One parser for every answer_location shape: ``evals.retrieval_eval.gold_spans``.
    """
    from evals.retrieval_eval import gold_spans as parse_gold

    lengths = {key: len(n.text) for key, n in notes_by_key.items()}
    return [(g.note_key, g.start, g.end) for g in parse_gold(q, lengths)]


# -- task construction -----------------------------------------------------------------------------
@dataclass
class TaskItem:
    task: int
    patient_id: str  # id inside the eval workspace
    source_patient: str
    question: Question
    options: dict[str, str]
    gold: str  # letter
    gold_spans: list[tuple[str, int, int]]  # (note_id in workspace, start, end)

    @property
    def key(self) -> str:
        return f"t{self.task}:{self.source_patient}:{self.question.question_id}"


def task_patient_id(pid: str, task: int) -> str:
    return pid if task == 1 else f"{pid}__t{task}"


def build_tasks(
    es: EvalSet, tasks: list[int], n_distractors: int = 4, seed: int = 0
) -> tuple[list[tuple[Patient, list[Note]]], list[TaskItem]]:
    """The patients/notes to ingest and the questions to ask, for the chosen tasks (deterministic by seed)."""
    rng = random.Random(seed)
    corpus: list[tuple[Patient, list[Note]]] = []
    items: list[TaskItem] = []
    pids = sorted(es.patients)
    for pid in pids:
        ep = es.patients[pid]
        others = [(o, n) for o in pids if o != pid for n in es.patients[o].notes]
        for task in tasks:
            tpid = task_patient_id(pid, task)
            notes: list[Note] = []
            if task in (1, 2):
                notes += [_copy_note(n, tpid, n.source_key) for n in ep.notes]
            if task in (2, 3):
                k = n_distractors if task == 2 else max(n_distractors, len(ep.notes))
                picks = rng.sample(others, min(k, len(others))) if others else []
                notes += [_copy_note(n, tpid, f"{o}__{n.source_key}") for o, n in picks]
            if task == 3 and not notes:
                continue
            corpus.append((Patient(tpid, ep.patient.name, ep.patient.birthday, ep.patient.diagnosis), notes))
            by_key = {n.source_key: n for n in ep.notes}
            for q in ep.questions:
                gold = q.correct_letter
                if gold is None:
                    continue
                options = dict(q.options)
                spans = [(f"{tpid}/{k}", s, e) for k, s, e in gold_spans(q, by_key)]
                if task in (2, 3):
                    options[ABSTAIN_OPTION] = ABSTAIN_TEXT
                if task == 3:
                    gold, spans = ABSTAIN_OPTION, []
                items.append(TaskItem(task, tpid, pid, q, options, gold, spans))
    return corpus, items


def select_items(items: list[TaskItem], limit: int) -> list[TaskItem]:
    """At most ``limit`` questions per task, taken round-robin over the patients (a quick run sees every
    patient, not just the first); the selection keeps the input order, so questions on one context stay
    together (what the LLM server's prompt cache relies on)."""
    by_task: dict[int, dict[str, list[int]]] = {}
    for i, it in enumerate(items):
        by_task.setdefault(it.task, {}).setdefault(it.source_patient, []).append(i)
    keep: set[int] = set()
    for per_patient in by_task.values():
        queues = [list(v) for v in per_patient.values()]
        taken = 0
        while taken < limit and any(queues):
            for q in queues:
                if q and taken < limit:
                    keep.add(q.pop(0))
                    taken += 1
    return [it for i, it in enumerate(items) if i in keep]


def _copy_note(n: Note, patient_id: str, key: str) -> Note:
    return Note(patient_id, key, n.text, note_date=n.note_date, date_known=n.date_known, note_type=n.note_type,
                title=n.title, source=n.source, flags=list(n.flags))


# -- running -----------------------------------------------------------------------------------------
@dataclass
class EvalConfig:
    backend: str = "extractive"
    model: str | None = None
    mode: str = "stack"  # stack | collapsed
    tasks: list[int] = field(default_factory=lambda: [1, 2, 3])
    n_distractors: int = 4
    seed: int = 0
    concurrency: int = 1
    limit: int | None = None  # max questions per task (quick runs)
    base_url: str | None = None


def _citation_valid(c, notes: dict[str, str]) -> bool:
    text = notes.get(c.note_id)
    return text is not None and 0 <= c.start < c.end <= len(text) and text[c.start:c.end] == c.quote


def _overlaps(c, spans: list[tuple[str, int, int]]) -> bool:
    return any(c.note_id == nid and c.start < e and s < c.end for nid, s, e in spans)


def answer_item(qa, it: TaskItem, note_text: dict[str, str]) -> dict:
    """Ask one task question and return its log record (also run by scale.eval's Ray workers)."""
    t = time.perf_counter()
    try:
        ans = qa.ask(it.patient_id, it.question.text, options=it.options, allow_abstain=it.task in (2, 3))
        err = None
    except ClinqaError as e:
        ans, err = None, str(e)
    return _record(it, ans, err, time.perf_counter() - t, note_text)


def run_eval(set_path: str | Path, out_dir: str | Path, cfg: EvalConfig, progress: bool = True,
             fan_out: Callable[[Any, list[TaskItem]], Iterable[dict]] | None = None) -> dict[str, Any]:
    """Run (or resume) an evaluation; writes ``log.jsonl``, ``report.json``, ``report.md`` and plots in out_dir.

    ``fan_out(workspace, todo)`` answers the questions elsewhere (scale.eval: Ray workers) and yields their
    records; this process stays the one writer of the log.
    """
    from clinqa.workspace import Workspace

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = out / "config.json"
    if cfg_path.exists():
        old = json.loads(cfg_path.read_text())
        if {k: old.get(k) for k in ("backend", "model", "mode", "tasks", "n_distractors", "seed")} != {
            k: asdict(cfg)[k] for k in ("backend", "model", "mode", "tasks", "n_distractors", "seed")
        }:
            raise ClinqaError(f"{out} holds a run with another configuration ({old}); choose a new --out directory")
    cfg_path.write_text(json.dumps({**asdict(cfg), "set": str(set_path)}, indent=2))

    es = load_set(set_path)
    corpus, items = build_tasks(es, cfg.tasks, cfg.n_distractors, cfg.seed)
    if cfg.limit:
        items = select_items(items, cfg.limit)

    ws = Workspace(out / "workspace")
    needed = {it.patient_id for it in items}
    t0 = time.perf_counter()
    summary = ws.ingest_items((ReadItem(p, notes) for p, notes in corpus if p.patient_id in needed), progress=progress)
    if summary.failed:
        raise ClinqaError("eval ingest failed: " + "; ".join(summary.failed[:3]))
    ingest_s = time.perf_counter() - t0

    from evals.report import read_log

    log_path = out / "log.jsonl"
    done = read_log(log_path)
    if log_path.exists():
        # rewrite without torn lines so appended records start on a fresh line
        tmp = log_path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in done.values()))
        tmp.replace(log_path)
    todo = [it for it in items if it.key not in done]
    if fan_out is not None:
        try:
            with log_path.open("a") as log:
                for rec in tqdm(fan_out(ws, todo), total=len(todo), desc=f"eval {cfg.backend}/{cfg.mode}",
                                disable=not progress):
                    log.write(json.dumps(rec) + "\n")
                    log.flush()
                    done[rec["key"]] = rec
        except BaseException:  # Ctrl-C or a lost cluster: keep what was answered, the report says it is partial
            _write(out, cfg, set_path, items, done, round(ingest_s, 2))
            raise
        return _write(out, cfg, set_path, items, done, round(ingest_s, 2))

    from agent import ClinicalQA

    qa = ClinicalQA(ws, backend=cfg.backend, model=cfg.model, mode=cfg.mode, base_url=cfg.base_url)
    note_text = {}
    for patient_id in needed:
        for n in ws.store.notes(patient_id):
            note_text[n.note_id] = n.text
    lock = threading.Lock()

    def one(it: TaskItem) -> dict:
        return answer_item(qa, it, note_text)

    try:
        with log_path.open("a") as log, ThreadPoolExecutor(max_workers=max(1, cfg.concurrency)) as pool:
            futures = [pool.submit(one, it) for it in todo]
            try:
                for fut in tqdm(as_completed(futures), total=len(futures), desc=f"eval {cfg.backend}/{cfg.mode}",
                                disable=not progress):
                    rec = fut.result()
                    with lock:
                        log.write(json.dumps(rec) + "\n")
                        log.flush()
                        done[rec["key"]] = rec
            except KeyboardInterrupt:
                for f in futures:
                    f.cancel()  # leaving the pool would otherwise still ask every queued question
                raise
    except KeyboardInterrupt:  # Ctrl-C: keep what was answered, say it is partial, then stop
        _write(out, cfg, set_path, items, done, round(ingest_s, 2))
        raise
    finally:
        qa.close()

    return _write(out, cfg, set_path, items, done, round(ingest_s, 2))


def _write(out: Path, cfg: EvalConfig, set_path, items: list[TaskItem], done: dict[str, dict],
           ingest_s: float | None) -> dict[str, Any]:
    from evals.report import compute_metrics, write_report

    records = [done[it.key] for it in items if it.key in done]
    metrics = compute_metrics(records)
    metrics["config"] = {**asdict(cfg), "set": str(set_path)}
    metrics["ingest_s"] = ingest_s
    metrics["coverage"] = {"answered": len(records), "planned": len(items), "partial": len(records) < len(items)}
    write_report(metrics, records, out)
    return metrics


def report_from_log(out_dir: str | Path) -> dict[str, Any]:
    """Rewrite the report of a run from its log without asking anything (e.g. of an interrupted run)."""
    out = Path(out_dir)
    try:
        conf = json.loads((out / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise ClinqaError(f"{out}: no readable config.json (is it an eval output directory?): {e}") from None
    set_path = conf.pop("set")
    cfg = EvalConfig(**{k: v for k, v in conf.items() if k in EvalConfig.__dataclass_fields__})
    _, items = build_tasks(load_set(set_path), cfg.tasks, cfg.n_distractors, cfg.seed)
    if cfg.limit:
        items = select_items(items, cfg.limit)
    from evals.report import read_log

    done = read_log(out / "log.jsonl")
    if not done:
        raise ClinqaError(f"{out}: the run's log has no answered question yet")
    try:  # the ingest time is not in the log: keep the one the run measured
        ingest_s = json.loads((out / "report.json").read_text()).get("ingest_s")
    except (OSError, ValueError):
        ingest_s = None
    return _write(out, cfg, set_path, items, done, ingest_s)


def _record(it: TaskItem, ans, err: str | None, latency: float, note_text: dict[str, str]) -> dict:
    rec: dict[str, Any] = {
        "key": it.key, "task": it.task, "patient": it.source_patient, "question_id": it.question.question_id,
        "kind": it.question.kind or "unknown", "question": it.question.text, "options": it.options,
        "gold": it.gold, "latency_s": round(latency, 3), "error": err,
    }
    if "wording" in it.question.extra:  # sets with varied wordings: the report splits accuracy by wording group
        rec["wording"] = it.question.extra["wording"]
    if ans is None:
        rec.update(pred=None, correct=False, citations=[], verification="error", prompt_tokens=0, completion_tokens=0)
        return rec
    pred = ABSTAIN_OPTION if (ans.abstained and ABSTAIN_OPTION in it.options) else ans.choice
    cits = list(ans.citations)
    rec.update(
        pred=pred,
        correct=pred == it.gold,
        answer=ans.text,
        abstained=bool(ans.abstained),
        verification=ans.verification.status,
        draft_choice=getattr(ans.verification, "draft_choice", None),
        citations=[{"note_id": c.note_id, "start": c.start, "end": c.end, "quote": c.quote[:200]} for c in cits],
        citations_valid=sum(_citation_valid(c, note_text) for c in cits),
        citations_on_gold=sum(_overlaps(c, it.gold_spans) for c in cits),
        has_gold_spans=bool(it.gold_spans),
        prompt_tokens=int((ans.tokens or {}).get("prompt", 0)),
        completion_tokens=int((ans.tokens or {}).get("completion", 0)),
        route=list(ans.route),
        options_verified=sum(1 for v in (ans.option_checks or {}).values() if v == "verified"),
    )
    return rec
