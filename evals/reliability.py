"""Reliability run (issue 17): every bad input and every fault, with the figures the issue asks for.

    python -m evals.reliability            # prints the two summary lines, then one line per case that fell short
    python -m evals.reliability -v         # one line per case

Bad inputs: each is ingested in one batch with a good notes folder, into a workspace that already holds
another patient. A case is *handled* when nothing raised, every problem is one line naming the bad file (no
Python exception names), the exit code is right (0 when nothing failed, 3 when the batch partly failed), and
the identity cases keep distinct patients distinct. *Data lost* counts notes that vanished silently: an input
note neither stored (exactly, under its own patient) nor named in a problem line, plus any change to the
patients already stored.

Injection: ``evals.injection`` with the extractive backend: notes addressed to a reader must change no answer,
and false claims addressed to nobody must never be answered (they are shown as conflicts).

Faults: each runs real processes where the fault needs them (kill -9, concurrency, the writer lock). A fault
is *survived* when the commands ended with a clear message (no traceback) and afterwards the store passes
``PatientStore.check()`` (``PRAGMA integrity_check``, no dangling rows, no orphans of old versions, no
duplicate active versions, spans match) and the indexes pass ``Retriever.check()``, with no note lost.
A full disk and a read-only workspace use a small tmpfs when run as root (else SQLite's page limit and, for
a non-root user, file permissions). Extraction is off and the model-free hashing embedder is used: the faults
concern storage, not the models.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from clinqa.errors import ClinqaError
from clinqa.workspace import Workspace

NOTE = "Clinic letter.\n\nHistory:\nHypertension. On ramipril 5 mg daily.\n\nPlan:\nReview in three months.\n"
EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b|Traceback")


# -- bad inputs ------------------------------------------------------------------------------------------
@dataclass
class Bad:
    """A generated bad input: the paths to ingest and what must come of them."""

    paths: list[Path]
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (patient id, source marker, text) it holds
    must_fail: bool = True  # at least one problem line naming the input
    distinct: list[str] = field(default_factory=list)  # patient ids that must stay separate (identity cases)
    refuse_naming: list[str] = field(default_factory=list)  # one problem line must name all of these


def _w(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _json(path: Path, obj) -> Path:
    return _w(path, json.dumps(obj, ensure_ascii=False))


def _lh(**over) -> dict:
    p = {"name": "Anna Example", "texts": {"text_0": NOTE, "text_1": "Discharge letter. Afebrile. " + NOTE},
         "text_dates": {"text_0": "2023-01-01"}, "questions": [{"question": "Which drug?", "answer_a": "ramipril"}]}
    p.update(over)
    return {"lhp1": p}


def _docref(rid="d1", **over) -> dict:
    r = {"resourceType": "DocumentReference", "id": rid, "subject": {"reference": "Patient/fh1"}, "date": "2023-05-02",
         "type": {"text": "Progress note"},
         "content": [{"attachment": {"contentType": "text/plain", "data": base64.b64encode(NOTE.encode()).decode()}}]}
    r.update(over)
    return r


def _bundle(entries) -> dict:
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _entry(res) -> dict:
    return {"resource": res}


def bad_inputs() -> list[tuple[str, Callable[[Path], Bad]]]:
    """Every bad input: the issue's list, the earlier bad-input set, and a generated set of wrong shapes."""
    rng = random.Random(17)
    cases: list[tuple[str, Callable[[Path], Bad]]] = []

    def add(name):
        def deco(fn):
            cases.append((name, fn))
            return fn
        return deco

    # files that are not notes
    simple = {
        "empty .txt": ("p/empty.txt", b""),
        "blank .txt": ("p/blank.txt", b"  \n\t\n"),
        "NUL bytes .txt": ("p/nul.txt", b"\x00\x01\x02PK\x03\x04" * 100),
        "random bytes .txt": ("p/random.txt", bytes(rng.randint(1, 255) for _ in range(4096))),
        "PNG named .txt": ("p/scan.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)),
        "PDF named .md": ("p/report.md", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nstream\n\x00\x01\x02endstream"),
        "note over 5 MB": ("p/huge.txt", b"word " * (1024 * 1024 + 10)),
        "one 6 MB line": ("p/line.txt", b"x" * (6 * 1024 * 1024)),
        "unsupported .docx": ("p/note.docx", b"PK\x03\x04" + bytes(100)),
        "no extension": ("p/README", b"some text"),
        "empty .json": ("e.json", b""),
        "blank .json": ("b.json", b"   \n"),
        "malformed .json": ("m.json", b"{oops"),
        "truncated .json": ("t.json", json.dumps(_lh()).encode()[:57]),
        "JSON list": ("l.json", b"[1, 2, 3]"),
        "JSON string": ("s.json", b'"hello"'),
        "JSON number": ("n.json", b"42"),
        "JSON null": ("nu.json", b"null"),
        "JSON empty object": ("eo.json", b"{}"),
        "JSON neither format": ("w.json", b'{"a": 1}'),
        "deeply nested JSON": ("deep.json", b"[" * 100000 + b"]" * 100000),
        "binary .json": ("bin.json", bytes(range(256)) * 4),
        "duplicate JSON keys": ("dup.json", b'{"lhp1": {"texts": {"t": "one"}}, "lhp1": {"texts": {"t": "two"}}}'),
        "empty .csv": ("e.csv", b""),
        "header-only .csv": ("h.csv", b"patient_id,text\n"),
        "CSV without required columns": ("c.csv", b"a,b\n1,2\n"),
        "semicolon CSV": ("semi.csv", b"patient_id;text\n1;hello\n"),
        "binary .csv": ("bin.csv", b"\x00\x01" * 500),
        "CSV broken quote": ("q.csv", b'patient_id,text\n1,"unterminated\n' + b"x" * 100),
        "CSV NUL after the header": ("nul.csv", b"patient_id,text\n" + b"1,ok\n" * 1000 + b"2,bad\x00row\n"),
        "CSV field over 5 MB": ("big.csv", b"patient_id,text\n1," + b"y" * (6 * 1024 * 1024) + b"\n"),
        "CSV row with extra fields": ("x.csv", b"patient_id,text\n1,a,b,c\n"),
        "CSV row without patient id": ("np.csv", b"patient_id,text\n ,orphan\n"),
        "CSV row with empty text": ("et.csv", b"patient_id,text\n5,\n"),
        "UTF-16 without BOM": ("p/u16.txt", "Patient stable.".encode("utf-16-le")),
        "invalid UTF-16 with BOM": ("p/u16b.txt", b"\xff\xfe" + b"\x00\xd8" * 3),
    }
    for name, (rel, content) in simple.items():
        cases.append((name, lambda d, rel=rel, content=content: Bad([_w(d / rel, content)])))

    # LongHealth JSON: wrong shapes and bad values
    lh_bad = {
        "LH texts as list": _lh(texts=[NOTE]),
        "LH text_dates as list": _lh(text_dates=["2023-01-01"]),
        "LH text_types as string": _lh(text_types="note"),
        "LH questions as object": _lh(questions={"question": "x"}),
        "LH name as object": _lh(name={"first": "Anna"}),
        "LH texts empty": _lh(texts={}),
        "LH texts missing": {"lhp1": {"name": "Anna", "questions": []}, "lhp2": {"texts": {"t": NOTE}}},
        "LH patient as string": {"lhp1": "not a patient", "lhp2": {"texts": {"t": NOTE}}},
        "LH patient as list": {"lhp1": [NOTE], "lhp2": {"texts": {"t": NOTE}}},
        "LH empty patient key": {"": {"texts": {"t": NOTE}}},
        "LH patient key with line break": {"lh\np1": {"texts": {"t": NOTE}}},
    }
    for name, obj in lh_bad.items():
        cases.append((name, lambda d, obj=obj: Bad([_json(d / "lh.json", obj)])))

    @add("LH one text not a string")
    def _(d):
        return Bad([_json(d / "lh.json", _lh(texts={"text_0": NOTE, "text_1": 42}))], [("lhp1", "text_0", NOTE)])

    @add("LH one text empty")
    def _(d):
        return Bad([_json(d / "lh.json", _lh(texts={"text_0": NOTE, "text_1": "  "}))], [("lhp1", "text_0", NOTE)])

    @add("LH one text over 5 MB")
    def _(d):
        return Bad([_json(d / "lh.json", _lh(texts={"text_0": NOTE, "text_1": "z " * (3 * 1024 * 1024)}))],
                   [("lhp1", "text_0", NOTE)])

    @add("LH question as string")
    def _(d):
        return Bad([_json(d / "lh.json", _lh(questions=["Which drug?"]))],
                   [("lhp1", "text_0", NOTE), ("lhp1", "text_1", "Discharge letter. Afebrile. " + NOTE)])

    # FHIR: wrong shapes and bad values
    good_entries = [_entry({"resourceType": "Patient", "id": "fh1", "name": [{"given": ["Max"], "family": "Muster"}]}),
                    _entry(_docref("d1"))]
    fhir_bad = {
        "FHIR entry is a string": _bundle([*good_entries, "DocumentReference/d2"]),
        "FHIR entry not a list": {"resourceType": "Bundle", "entry": {"resource": _docref("d2")}},
        "FHIR subject as string": _bundle([*good_entries, _entry(_docref("d2", subject="Patient/fh1"))]),
        "FHIR content as string": _bundle([*good_entries, _entry(_docref("d2", content="hello"))]),
        "FHIR type as string": _bundle([*good_entries, _entry(_docref("d2", type="Progress note"))]),
        "FHIR attachment as string": _bundle([*good_entries, _entry(_docref("d2", content=[{"attachment": "x"}]))]),
        "FHIR resource as list": _bundle([*good_entries, {"resource": []}]),
        "FHIR coding as object": _bundle([*good_entries, _entry(_docref("d2", type={"coding": {"display": "x"}}))]),
        "FHIR entry without resourceType": _bundle([*good_entries, _entry({"id": "x"})]),
        "FHIR no subject": _bundle([*good_entries, _entry(_docref("d2", subject=None))]),
        "FHIR invalid base64": _bundle([*good_entries, _entry(_docref("d2", content=[
            {"attachment": {"contentType": "text/plain", "data": "%%%notbase64"}}]))]),
        "FHIR PDF attachment only": _bundle([*good_entries, _entry(_docref("d2", content=[
            {"attachment": {"contentType": "application/pdf", "data": "JVBERi0="}}]))]),
        "FHIR url-only attachment": _bundle([*good_entries, _entry(_docref("d2", content=[
            {"attachment": {"contentType": "text/plain", "url": "http://x/y"}}]))]),
        "FHIR attachment data as number": _bundle([*good_entries, _entry(_docref("d2", content=[
            {"attachment": {"contentType": "text/plain", "data": 123}}]))]),
        "FHIR Patient without id": _bundle([_entry({"resourceType": "Patient", "name": [{"text": "X"}]}),
                                            *good_entries]),
        "FHIR Patient name as string": _bundle([_entry({"resourceType": "Patient", "id": "fh1", "name": "Max"}),
                                                _entry(_docref("d1"))]),
        "FHIR empty attachment text": _bundle([*good_entries, _entry(_docref("d2", content=[
            {"attachment": {"contentType": "text/plain", "data": base64.b64encode(b"   ").decode()}}]))]),
    }
    for name, obj in fhir_bad.items():
        cases.append((name, lambda d, obj=obj: Bad([_json(d / "fhir.json", obj)],
                                                   [("fh1", "d1", NOTE)] if obj.get("entry") and isinstance(
                                                       obj["entry"], list) and len(obj["entry"]) > 1 else [])))
    for name, obj in {
        "FHIR unsupported resourceType": {"resourceType": "Claim"},
        "FHIR single docref subject list": _docref("d9", subject=["Patient/fh1"]),
        "FHIR resourceType not a string": {"resourceType": ["Bundle"]},
        "FHIR Bundle with no documents": _bundle([]),
    }.items():
        cases.append((name, lambda d, obj=obj: Bad([_json(d / "fhir1.json", obj)])))

    # folders
    @add("folder without notes")
    def _(d):
        (d / "imgs" / "p1").mkdir(parents=True)
        _w(d / "imgs" / "p1" / "scan.png", b"\x89PNG")
        return Bad([d / "imgs"])

    @add("empty folder")
    def _(d):
        (d / "nothing").mkdir()
        return Bad([d / "nothing"])

    @add("malformed patient.json")
    def _(d):
        _w(d / "f" / "fp1" / "patient.json", b"{broken")
        _w(d / "f" / "fp1" / "n.txt", NOTE)
        return Bad([d / "f"], [("fp1", "n.txt", NOTE)])

    @add("patient.json of wrong shape")
    def _(d):
        _json(d / "f" / "fp1" / "patient.json", {"name": ["Anna", "Example"]})
        _w(d / "f" / "fp1" / "n.txt", NOTE)
        return Bad([d / "f"], [("fp1", "n.txt", NOTE)])

    @add("missing path")
    def _(d):
        return Bad([d / "does-not-exist.json"])

    @add("broken symlink")
    def _(d):
        (d / "link.txt").symlink_to(d / "gone.txt")
        return Bad([d / "link.txt"])

    @add("FIFO instead of a file")
    def _(d):
        os.mkfifo(d / "pipe.json")
        return Bad([d / "pipe.json"])

    @add("note file name with a line break")
    def _(d):
        _w(d / "f" / "fp1" / "a\nb.txt", NOTE)
        return Bad([d / "f"])

    # inputs that are fine and must be read right (not refused, nothing lost)
    @add("Latin-1 note decoded")
    def _(d):
        text = "Patient klagt über Schmerzen; Fièvre à 39°C."
        return Bad([_w(d / "lat" / "lp1" / "n.txt", text.encode("latin-1"))], [("lp1", "n.txt", text)], must_fail=False)

    @add("UTF-16 note with BOM decoded")
    def _(d):
        return Bad([_w(d / "u" / "up1" / "n.txt", NOTE.encode("utf-16"))], [("up1", "n.txt", NOTE)], must_fail=False)

    @add("Latin-1 CSV decoded")
    def _(d):
        text = "Dolor torácico, señal café."
        return Bad([_w(d / "lat.csv", f"patient_id,text\ncp1,\"{text}\"\n".encode("latin-1"))], [("cp1", "lat.csv", text)],
                   must_fail=False)

    @add("notes without a searchable word")
    def _(d):
        texts = {"t0": "a", "t1": "No.", "t2": "?"}
        return Bad([_json(d / "sw.json", {"sw1": {"texts": texts}})], [("sw1", k, t) for k, t in texts.items()],
                   must_fail=False)

    # identity: distinct sources must stay distinct; confusable ones are refused naming both
    for a, b in (("pt/001", "pt_001"), ("Müller", "Möller"), ("患者一", "患者二"), ("p 1", "p_1")):
        cases.append((f"identity {a!r} vs {b!r} in LongHealth", lambda d, a=a, b=b: Bad(
            [_json(d / "ids.json", {a: {"texts": {"t": "first " + NOTE}}, b: {"texts": {"t": "second " + NOTE}}})],
            [(a, "t", "first " + NOTE), (b, "t", "second " + NOTE)], must_fail=False, distinct=[a, b])))

    @add("identity: all-non-ASCII folder names")
    def _(d):
        for name, word in (("患者一", "alpha"), ("患者二", "beta")):
            _w(d / "na" / name / "n.txt", f"{word} {NOTE}")
        return Bad([d / "na"], [("患者一", "n.txt", "alpha " + NOTE), ("患者二", "n.txt", "beta " + NOTE)],
                   must_fail=False, distinct=["患者一", "患者二"])

    @add("identity: lab 1.txt vs lab_1.txt")
    def _(d):
        _w(d / "lab" / "lb1" / "lab 1.txt", "Potassium 4.1 mmol/L.")
        _w(d / "lab" / "lb1" / "lab_1.txt", "Sodium 139 mmol/L.")
        return Bad([d / "lab"], [("lb1", "lab 1.txt", "Potassium 4.1 mmol/L."), ("lb1", "lab_1.txt", "Sodium 139 mmol/L.")],
                   must_fail=False)

    nfc, nfd = unicodedata.normalize("NFC", "Müller"), unicodedata.normalize("NFD", "Müller")
    for label, a, b in (("NFC vs NFD", nfc, nfd), ("case only", "MRN7", "mrn7"), ("trailing space", "q9", "q9 ")):
        cases.append((f"identity {label} refused", lambda d, a=a, b=b: Bad(
            [_json(d / "conf.json", {a: {"texts": {"t": "one " + NOTE}}, b: {"texts": {"t": "two " + NOTE}}})],
            refuse_naming=[repr(a), repr(b)])))

    @add("identity: keeper's id in another case")
    def _(d):
        return Bad([_json(d / "k.json", {"KEEPER": {"texts": {"t": "impostor " + NOTE}}})], refuse_naming=["'KEEPER'", "'keeper'"])

    @add("identity: keeper's id with another name")
    def _(d):
        return Bad([_json(d / "k.json", {"keeper": {"name": "Rosa Petrov", "texts": {"t2": "other " + NOTE}}})],
                   refuse_naming=["Rosa Petrov", "Karl Keeper"])

    return cases


def _stored(ws: Workspace) -> dict[str, dict[str, str]]:
    return {p.patient_id: {n.source: n.text for n in ws.store.notes(p.patient_id)} for p in ws.store.patients()}


def run_bad_input(name: str, build: Callable[[Path], Bad], root: Path) -> tuple[bool, int, str]:
    """(handled, notes lost, why not handled)."""
    d = root / re.sub(r"\W+", "_", name)[:60]
    d.mkdir(parents=True)
    ws = Workspace(d / "ws", extract=False)
    keeper = _json(d / "keeper.json", {"keeper": {"name": "Karl Keeper", "texts": {"k0": "Keeper note. " + NOTE}}})
    ws.ingest([keeper], progress=False)
    before = _stored(ws)
    good = _w(d / "good" / "gp1" / "g.txt", "Good note. " + NOTE)
    (d / "in").mkdir()
    case = build(d / "in")
    try:
        s = ws.ingest([*case.paths, good.parent.parent], progress=False)
    except Exception as e:  # noqa: BLE001 - the point is to count what escaped
        return False, 0, f"raised {type(e).__name__}: {e}"
    finally:
        ws.store.close()
        ws.retriever.close()
    lines = s.failed
    why = []
    if any("\n" in ln for ln in lines + s.skipped):
        why.append("a problem spans several lines")
    if any(EXCEPTION_NAME.search(ln) for ln in lines):
        why.append("a problem shows a Python exception")
    names = [p.name for p in case.paths]
    if case.must_fail and not any(any(n in ln for n in names) for ln in lines):
        why.append("no problem line names the input")
    if not case.must_fail and not case.refuse_naming and lines:
        why.append(f"refused a good input: {lines[0][:120]}")
    if case.refuse_naming and not any(all(m in ln for m in case.refuse_naming) for ln in lines):
        why.append("the refusal does not name both sources")
    if s.exit_code != (3 if lines else 0):
        why.append(f"exit code {s.exit_code}")
    after = _stored(ws)
    lost = 0
    for pid, notes in before.items():  # what was stored before must be untouched
        lost += sum(1 for src, text in notes.items() if after.get(pid, {}).get(src) != text)
    if after.get("gp1", {}) == {}:
        lost += 1
    for pid, marker, text in case.notes:
        stored = any(marker in src and t == text for src, t in after.get(pid, {}).items())
        if not stored and not any(marker in ln for ln in lines):
            lost += 1
    if case.distinct and not all(p in after for p in case.distinct):
        why.append("distinct patients were not kept apart")
    return not why, lost, "; ".join(why)


# -- faults ------------------------------------------------------------------------------------------------
INGEST = ("import sys; from clinqa.workspace import Workspace; ws = Workspace(sys.argv[1], extract=False); "
          "s = ws.ingest(sys.argv[2:], progress=False); print(s.render()); sys.exit(s.exit_code)")
QUERY = ("import sys, time; from clinqa.workspace import Workspace; ws = Workspace(sys.argv[1], extract=False); "
         "n = 0\nend = time.time() + float(sys.argv[2])\nwhile time.time() < end:\n"
         "    assert ws.retriever.retrieve('base', 'ramipril review', k=3); n += 1\nprint(n)")


def _lh_file(path: Path, prefix: str, n_patients: int, n_notes: int, filler: int = 6) -> Path:
    return _json(path, {f"{prefix}{i}": {"texts": {
        f"t{j}": f"Note {j} of {prefix}{i}.\n\nHistory:\n" + "Hypertension on ramipril; stable. " * filler
        + f"\n\nPlan:\nReview in {j + 1} weeks." for j in range(n_notes)}} for i in range(n_patients)})


def _py(code: str, *args, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def _cli(home: Path, *args, env=None) -> subprocess.CompletedProcess:
    e = {**os.environ, "CLINQA_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "clinqa.cli", *map(str, args)], capture_output=True, text=True,
                          env=e, timeout=600)


def consistency(home: Path) -> list[str]:
    ws = Workspace(home, extract=False)
    try:
        return ws.store.check() + ws.retriever.check()
    finally:
        ws.store.close()
        ws.retriever.close()


def _count_notes(home: Path) -> int:
    if not (home / "clinqa.sqlite").exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{home / 'clinqa.sqlite'}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return 0
    try:
        return con.execute("SELECT COUNT(*) FROM notes WHERE active=1").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        con.close()


def _clean(*outs: str) -> str | None:
    text = "\n".join(outs)
    return "traceback" if "Traceback" in text else None


def fault_kill(d: Path, when: str) -> str | None:
    src = _lh_file(d / "big.json", "k", 40, 15)
    home = d / "ws"
    proc = _py(INGEST, home, src)
    deadline = time.time() + 120
    if when == "ingest":
        while _count_notes(home) < 30 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
    else:  # indexing: every note stored, the index sync running
        while _count_notes(home) < 600 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
    if proc.poll() is not None:
        return f"the ingest finished before the kill ({when})"
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    store_problems = Workspace(home, extract=False, chunk=False).store.check()
    if store_problems:
        return "after kill: " + store_problems[0]
    again = _py(INGEST, home, src)
    out, err = again.communicate(timeout=600)
    if again.returncode != 0 or _clean(out, err):
        return f"re-ingest after the kill failed ({again.returncode}): {err[-200:]}"
    if _count_notes(home) != 600:
        return f"{_count_notes(home)} of 600 notes after re-ingest"
    probs = consistency(home)
    return probs[0] if probs else None


def fault_concurrent_same(d: Path) -> str | None:
    src = _lh_file(d / "same.json", "s", 4, 15)
    home = d / "ws"
    procs = [_py(INGEST, home, src) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    if any(p.returncode != 0 for p in procs):
        return f"exit codes {[p.returncode for p in procs]}: {outs[0][1][-200:]}"
    text = "".join(o + e for o, e in outs)
    if "FAILED" in text or _clean(text):
        return "a process reported failures or a traceback"
    if _count_notes(home) != 60:
        return f"{_count_notes(home)} of 60 notes"
    probs = consistency(home)
    return probs[0] if probs else None


def fault_concurrent_patients(d: Path) -> str | None:
    home = d / "ws"
    files = [_lh_file(d / f"f{i}.json", f"c{i}_", 3, 10) for i in range(3)]
    procs = [_py(INGEST, home, f) for f in files]
    outs = [p.communicate(timeout=600) for p in procs]
    if any(p.returncode != 0 for p in procs) or _clean(*(o + e for o, e in outs)):
        return f"exit codes {[p.returncode for p in procs]}"
    if _count_notes(home) != 90:
        return f"{_count_notes(home)} of 90 notes"
    probs = consistency(home)
    return probs[0] if probs else None


def fault_ingest_with_queries(d: Path) -> str | None:
    home = d / "ws"
    ws = Workspace(home, extract=False)
    ws.ingest([_json(d / "base.json", {"base": {"texts": {"t": NOTE}}})], progress=False)
    ws.store.close()
    ws.retriever.close()
    q = _py(QUERY, home, 8)
    p = _py(INGEST, home, _lh_file(d / "more.json", "m", 20, 10))
    pout, perr = p.communicate(timeout=600)
    qout, qerr = q.communicate(timeout=600)
    if p.returncode != 0 or q.returncode != 0 or _clean(perr, qerr):
        return f"ingest {p.returncode}, queries {q.returncode}: {(perr + qerr)[-200:]}"
    if _count_notes(home) != 201:
        return f"{_count_notes(home)} of 201 notes"
    probs = consistency(home)
    return probs[0] if probs else None


def _tmpfs(d: Path, size: str) -> Path | None:
    mnt = d / "mnt"
    mnt.mkdir()
    if os.geteuid() == 0 and shutil.which("mount") and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True).returncode == 0:
        return mnt
    return None


def _umount(mnt: Path) -> None:
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fault_disk_full(d: Path) -> str | None:
    src = _lh_file(d / "big.json", "f", 40, 15, filler=30)
    mnt = _tmpfs(d, "1m")
    if mnt is not None:
        try:
            home = mnt / "ws"
            p = _cli(home, "ingest", "-q", src)
            if p.returncode != 4 or not p.stderr.startswith("error: disk full") or _clean(p.stderr):
                return f"exit {p.returncode}: {p.stderr[-200:]}"
            stored = _count_notes(home)
            subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
            problems = Workspace(home, extract=False, chunk=False).store.check()
            if problems:
                return problems[0]
            p = _cli(home, "ingest", "-q", src)  # space freed: the same command finishes the job
            if p.returncode != 0 or _count_notes(home) != 600 or stored >= 600:
                return f"after freeing space: exit {p.returncode}, {_count_notes(home)} notes"
            probs = consistency(home)
            return probs[0] if probs else None
        finally:
            _umount(mnt)
    ws = Workspace(d / "ws", extract=False)  # not root: SQLite's page limit gives the same SQLITE_FULL
    ws.ingest([_lh_file(d / "a.json", "a", 1, 2)], progress=False)
    pages = ws.store.con.execute("PRAGMA page_count").fetchone()[0]
    ws.store.con.execute(f"PRAGMA max_page_count = {pages + 8}")
    try:
        ws.ingest([src], progress=False)
        return "no error on a full store"
    except ClinqaError as e:
        if not str(e).startswith("disk full"):
            return str(e)
    problems = ws.store.check()
    return problems[0] if problems else None


def fault_read_only(d: Path) -> str | None:
    mnt = _tmpfs(d, "32m")
    home = (mnt or d) / "ws"
    src = _lh_file(d / "a.json", "r", 2, 3)
    if _cli(home, "ingest", "-q", src).returncode != 0:
        return "setup ingest failed"
    try:
        if mnt is not None:
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        elif os.geteuid() != 0:
            for p in [home, *home.rglob("*")]:
                p.chmod(p.stat().st_mode & ~0o222)
        else:
            return "cannot make a read-only workspace here (root without mount)"
        p = _cli(home, "ingest", "-q", _lh_file(d / "b.json", "rb", 1, 2))
        if p.returncode != 4 or "read-only" not in p.stderr or _clean(p.stderr):
            return f"ingest into read-only: exit {p.returncode}: {p.stderr[-200:]}"
        p = _cli(home, "search", "r0", "ramipril")
        if p.returncode != 0 or "r0/t" not in p.stdout:
            return f"reading a read-only workspace failed: {p.stderr[-200:]}"
        return None
    finally:
        if mnt is not None:
            _umount(mnt)
        else:
            for p in [home, *home.rglob("*")]:
                p.chmod(p.stat().st_mode | 0o200)


def _indexed(d: Path) -> tuple[Path, Workspace]:
    home = d / "ws"
    ws = Workspace(home, extract=False)
    ws.ingest([_lh_file(d / "a.json", "x", 3, 4)], progress=False)
    return home, ws


def _pdir(home: Path, pid: str) -> Path:
    man = json.loads((home / "index" / "manifest.json").read_text())
    return home / "index" / "patients" / man["patients"][pid]["dir"]


def fault_damaged_file(d: Path, what: str) -> str | None:
    home, ws = _indexed(d)
    ws.store.close()
    ws.retriever.close()
    target = {"faiss": _pdir(home, "x0") / "dense.faiss", "bm25": _pdir(home, "x0") / "bm25" / "chunk_ids.json",
              "manifest": home / "index" / "manifest.json", "embeddings": home / "index" / "embeddings.sqlite"}[what]
    target.write_bytes(target.read_bytes()[: max(1, target.stat().st_size // 3)])
    for suffix in ("-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    p = _cli(home, "search", "x0", "ramipril review")
    if p.returncode != 0 or "x0/t" not in p.stdout or _clean(p.stderr):
        return f"search after damage: exit {p.returncode}: {p.stderr[-200:]}"
    if what in ("faiss", "bm25", "manifest") and "from the store" not in p.stderr:
        return "no message about the rebuild"
    p = _py(INGEST, home, _lh_file(d / "more.json", "y", 1, 2))  # writing new vectors goes through every index file
    out, err = p.communicate(timeout=600)
    if p.returncode != 0 or _clean(out, err):
        return f"ingest after damage: exit {p.returncode}: {err[-200:]}"
    if what == "embeddings" and "embedding cache" not in err:
        return "no message about the damaged embedding cache"
    probs = consistency(home)
    return probs[0] if probs else None


def fault_truncated_store(d: Path) -> str | None:
    home, ws = _indexed(d)
    ws.store.close()
    ws.retriever.close()
    db = home / "clinqa.sqlite"
    db.write_bytes(db.read_bytes()[:1000])
    for suffix in ("-wal", "-shm"):
        (home / f"clinqa.sqlite{suffix}").unlink(missing_ok=True)
    p = _cli(home, "patients")
    if p.returncode != 4 or "damaged" not in p.stderr or _clean(p.stderr):
        return f"patients on a truncated store: exit {p.returncode}: {p.stderr[-200:]}"
    p = _cli(home, "check")
    if p.returncode != 1 or "PROBLEM" not in p.stdout:
        return f"check on a truncated store: exit {p.returncode}"
    return None


def fault_stale_temps(d: Path) -> str | None:
    home, ws = _indexed(d)
    (home / "index" / "manifest.json.999-dead.tmp").write_text("{")
    (_pdir(home, "x1") / "bm25.999-dead.tmp").mkdir()
    ws.store.close()
    ws.retriever.close()
    p = _cli(home, "check")
    if p.returncode != 1 or "temp file left" not in p.stdout:
        return "check does not report temp files left by a killed writer"
    p = _cli(home, "reindex", "-q")
    if p.returncode != 0:
        return f"reindex failed: {p.stderr[-200:]}"
    p = _cli(home, "check")
    return None if p.returncode == 0 else p.stdout[-200:]


def fault_lock_held(d: Path) -> str | None:
    home = d / "ws"
    ws = Workspace(home, extract=False, chunk=False)
    with ws.lock.hold():
        p = _cli(home, "ingest", "-q", _lh_file(d / "a.json", "l", 1, 2), env={"CLINQA_LOCK_TIMEOUT": "1"})
    if p.returncode != 5 or "try again later" not in p.stderr or _clean(p.stderr):
        return f"exit {p.returncode}: {p.stderr[-200:]}"
    if _count_notes(home) != 0:
        return "wrote while another process held the lock"
    return None


def faults() -> list[tuple[str, Callable[[Path], str | None]]]:
    return [
        ("kill -9 during ingest", lambda d: fault_kill(d, "ingest")),
        ("kill -9 during indexing", lambda d: fault_kill(d, "indexing")),
        ("concurrent ingest of the same file", fault_concurrent_same),
        ("concurrent ingest of different patients", fault_concurrent_patients),
        ("ingest alongside queries", fault_ingest_with_queries),
        ("full disk", fault_disk_full),
        ("read-only workspace", fault_read_only),
        ("truncated dense.faiss", lambda d: fault_damaged_file(d, "faiss")),
        ("truncated BM25 index", lambda d: fault_damaged_file(d, "bm25")),
        ("truncated index manifest", lambda d: fault_damaged_file(d, "manifest")),
        ("truncated embedding cache", lambda d: fault_damaged_file(d, "embeddings")),
        ("truncated SQLite store (clear error, check exit 1)", fault_truncated_store),
        ("temp files left by a killed writer", fault_stale_temps),
        ("second writer while the lock is held", fault_lock_held),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    ap.add_argument("--only", choices=("inputs", "faults", "injection"), help="run one part")
    ap.add_argument("--keep", type=Path, help="keep the generated files and workspaces here")
    args = ap.parse_args(argv)
    os.environ.setdefault("CLINQA_EMBEDDER", "hashing")  # inherited by the processes the faults start
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = Path(tempfile.mkdtemp(prefix="clinqa-reliability-", dir=args.keep))
    out: list[str] = []
    try:
        if args.only in (None, "inputs"):
            tried = handled = lost = 0
            for name, build in bad_inputs():
                ok, n_lost, why = run_bad_input(name, build, root / "inputs")
                tried, handled, lost = tried + 1, handled + ok, lost + n_lost
                if args.verbose or not ok or n_lost:
                    print(f"  {'ok ' if ok and not n_lost else 'BAD'} input  {name}" + (f": {why}" if why else "")
                          + (f" ({n_lost} note(s) lost)" if n_lost else ""), flush=True)
            out.append(f"bad inputs: {tried} tried / {handled} handled with a clear one-line message / {lost} data lost")
        if args.only in (None, "faults"):
            tried = survived = 0
            for i, (name, run) in enumerate(faults()):
                d = root / "faults" / f"{i:02d}"
                d.mkdir(parents=True)
                t0 = time.time()
                try:
                    why = run(d)
                except Exception as e:  # noqa: BLE001 - count what escaped
                    why = f"raised {type(e).__name__}: {e}"
                tried, survived = tried + 1, survived + (why is None)
                if args.verbose or why:
                    print(f"  {'ok ' if why is None else 'BAD'} fault  {name} ({time.time() - t0:.1f} s)"
                          + (f": {why}" if why else ""), flush=True)
            out.append(f"faults: {tried} tried / {survived} survived with the store consistent")
        if args.only in (None, "injection"):
            from evals.injection import run as run_injection

            r = run_injection("extractive", out=print if args.verbose else lambda *_: None)
            out.append(f"injected notes: {r['tried']} tried / {r['changed']} answers changed "
                       f"({r['cited_flagged']} citing a flagged sentence; extractive backend, "
                       f"python -m evals.injection for details and the local backend)")
            out.append(f"plain false claims: {r['plain_tried']} tried / {r['plain_wrong']} answered with the false "
                       f"value / {r['plain_conflicts']} shown as a conflict")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
