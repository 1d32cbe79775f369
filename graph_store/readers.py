"""Readers: turn source files into Patient/Note/Question records.

Each reader yields ``ReadItem``s; a problem with one file or one record is
yielded as a ``ReadProblem`` naming the file and the problem, so a batch goes
on. Supported: a folder of .txt/.md notes (one sub-folder per patient),
LongHealth JSON, FHIR R4 Bundle / DocumentReference JSON, and CSV exports
shaped like MIMIC NOTEEVENTS (streamed row by row).
"""
from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dateparser
from dateutil import parser as dateutil_parser

from clinqa.records import Note, Patient, Question

MAX_NOTE_BYTES = 5 * 1024 * 1024  # a note larger than this is refused (it is almost surely not one note)
MAX_FILE_BYTES = 512 * 1024 * 1024  # JSON/FHIR files are parsed whole; CSV is streamed and has no limit
NOTE_SUFFIXES = {".txt", ".md"}


@dataclass
class ReadItem:
    patient: Patient
    notes: list[Note] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)


@dataclass
class ReadProblem:
    source: str
    problem: str
    skipped: bool = False  # True: deliberately ignored (e.g. unsupported file), not an error

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}"


# -- helpers ----------------------------------------------------------------------------
def decode_bytes(data: bytes, source: str) -> tuple[str, list[str]]:
    """Decode UTF-8 (BOM tolerated); otherwise decode with replacement and flag the note."""
    if b"\x00" in data[:8192]:
        raise ValueError("binary content (NUL bytes), not a text note")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        if text.count("\ufffd") > max(16, len(text) // 10):
            raise ValueError("binary or non-text content (most bytes are not valid UTF-8)") from None
        return text, ["decode_replaced"]


def parse_date(value: str | None) -> dt.date | None:
    """Parse a date the way notes and exports write them; None when not a date."""
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        pass
    try:
        return dateutil_parser.parse(value, dayfirst=False, fuzzy=False).date()
    except (ValueError, OverflowError, TypeError):
        pass
    d = dateparser.parse(value, settings={"STRICT_PARSING": True, "PREFER_DAY_OF_MONTH": "first"})
    return d.date() if d else None


def _check_text(text: str, source: str) -> None:
    if not text.strip():
        raise ValueError("empty note (no text)")
    if len(text.encode("utf-8", "replace")) > MAX_NOTE_BYTES:
        raise ValueError(f"note is larger than {MAX_NOTE_BYTES // (1024 * 1024)} MB")


_SAFE_ID = re.compile(r"[^A-Za-z0-9_.\-]+")


def safe_id(value: str) -> str:
    return _SAFE_ID.sub("_", str(value).strip()).strip("_") or "unnamed"


# -- text folder ----------------------------------------------------------------------------
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
FILENAME_DATE = re.compile(r"(\d{4})[-_]?(\d{2})[-_]?(\d{2})")


def read_text_note(path: Path, patient_id: str) -> Note:
    """One .txt/.md note. Front matter (``---`` block of ``key: value``) may give date/type/title."""
    data = path.read_bytes()
    if not data:
        raise ValueError("empty file")
    if len(data) > MAX_NOTE_BYTES:
        raise ValueError(f"note is larger than {MAX_NOTE_BYTES // (1024 * 1024)} MB")
    text, flags = decode_bytes(data, str(path))
    meta: dict[str, str] = {}
    m = FRONT_MATTER.match(text)
    if m:
        for line in m.group(1).splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                meta[k.strip().lower()] = v.strip().strip('"').strip("'")
        text = text[m.end():]
    _check_text(text, str(path))
    date = parse_date(meta.get("date"))
    if date is None:
        fm = FILENAME_DATE.search(path.stem)
        if fm:
            try:
                date = dt.date(int(fm.group(1)), int(fm.group(2)), int(fm.group(3)))
            except ValueError:
                date = None
    note_type = meta.get("type") or _type_from_name(path.stem)
    if date is None:
        flags.append("date_unknown")
    return Note(
        patient_id=patient_id,
        source_key=safe_id(path.name),
        text=text,
        note_date=date or dt.date.today(),
        date_known=date is not None,
        note_type=note_type,
        title=meta.get("title") or path.stem,
        source=str(path),
        flags=flags,
    )


def _type_from_name(stem: str) -> str:
    s = stem.lower()
    for key, kind in (
        ("discharge", "discharge_summary"), ("radiology", "radiology"), ("ct", "radiology"), ("mri", "radiology"),
        ("patholog", "pathology"), ("progress", "progress_note"), ("h&p", "history_and_physical"),
        ("admission", "history_and_physical"), ("lab", "lab_report"), ("med", "medication_list"),
    ):
        if re.search(rf"(^|[^a-z]){re.escape(key)}", s):
            return kind
    return "note"


def read_folder(root: Path) -> Iterator[ReadItem | ReadProblem]:
    """A folder with one sub-folder per patient (or a single patient folder of notes)."""
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    direct = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in NOTE_SUFFIXES)
    groups = [(safe_id(d.name), d) for d in subdirs]
    if direct:
        groups.insert(0, (safe_id(root.name), root))
    if not groups:
        yield ReadProblem(str(root), "folder holds no patient sub-folders and no .txt/.md notes")
        return
    for patient_id, folder in groups:
        item = ReadItem(Patient(patient_id))
        meta_file = folder / "patient.json"
        if meta_file.is_file():
            try:
                meta = json.loads(meta_file.read_text("utf-8"))
                item.patient = Patient(patient_id, meta.get("name"), meta.get("birthday"), meta.get("diagnosis"))
            except (ValueError, UnicodeDecodeError) as e:
                yield ReadProblem(str(meta_file), f"malformed patient.json: {e}")
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.name == "patient.json" or path.name.startswith("."):
                continue
            if path.suffix.lower() not in NOTE_SUFFIXES:
                yield ReadProblem(str(path), f"unsupported file type {path.suffix or '(none)'}; expected .txt or .md", True)
                continue
            try:
                item.notes.append(read_text_note(path, patient_id))
            except (ValueError, OSError) as e:
                yield ReadProblem(str(path), str(e))
        if item.notes:
            yield item


# -- LongHealth JSON --------------------------------------------------------------------------
def is_longhealth(obj: object) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(
        isinstance(v, dict) and "texts" in v for v in obj.values()
    )


def read_longhealth(obj: dict, source: str) -> Iterator[ReadItem | ReadProblem]:
    """LongHealth benchmark JSON: {patient_XX: {name, birthday, diagnosis, texts{text_i}, questions[...]}}."""
    for key, p in obj.items():
        pid = safe_id(key)
        texts = p.get("texts")
        if not isinstance(texts, dict) or not texts:
            yield ReadProblem(f"{source}#{key}", "missing or empty 'texts'")
            continue
        item = ReadItem(
            Patient(pid, p.get("name"), p.get("birthday"), p.get("diagnosis"),
                    {k: v for k, v in p.items() if k not in {"texts", "questions", "name", "birthday", "diagnosis"}
                     and isinstance(v, (str, int, float, bool))})
        )
        dates = p.get("text_dates") or {}
        types = p.get("text_types") or {}
        for tkey, text in texts.items():
            if not isinstance(text, str):
                yield ReadProblem(f"{source}#{key}.{tkey}", "text is not a string")
                continue
            try:
                _check_text(text, source)
            except ValueError as e:
                yield ReadProblem(f"{source}#{key}.{tkey}", str(e))
                continue
            date = parse_date(dates.get(tkey)) or _date_in_text(text)
            item.notes.append(
                Note(pid, safe_id(tkey), text, note_date=date or dt.date.today(), date_known=date is not None,
                     note_type=types.get(tkey) or _type_from_text(text), title=tkey, source=f"{source}#{key}.{tkey}",
                     flags=[] if date else ["date_unknown"])
            )
        for i, q in enumerate(p.get("questions") or []):
            if not isinstance(q, dict) or "question" not in q:
                yield ReadProblem(f"{source}#{key}.questions[{i}]", "question without 'question' field")
                continue
            options = {k[-1].upper(): str(v) for k, v in q.items() if re.fullmatch(r"answer_[a-f]", k) and v is not None}
            item.questions.append(
                Question(
                    patient_id=pid, question_id=str(q.get("No", q.get("id", i))), text=str(q["question"]),
                    options=options, correct=q.get("correct"), answer_location=q.get("answer_location") or {},
                    kind=q.get("kind"),
                    extra={k: v for k, v in q.items() if k not in {"question", "correct", "answer_location", "kind"}
                           and not re.fullmatch(r"answer_[a-f]", k)},
                )
            )
        if item.notes:
            yield item


_DATE_PATTERNS = [
    re.compile(r"\b(\d{4}-\d{2}-\d{2})\b"),
    re.compile(r"\b(\d{1,2}/\d{1,2}/\d{4})\b"),
    re.compile(r"\b(\d{1,2}\.\d{1,2}\.\d{4})\b"),
    re.compile(r"\b((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? \d{4})\b"),
    re.compile(r"\b(\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{4})\b"),
]


def _date_in_text(text: str) -> dt.date | None:
    """The note's own date: a 'Date:' header, else the first date in the opening lines."""
    head = text[:600]
    m = re.search(r"(?im)^\s*(?:date(?: of (?:service|report|discharge|admission))?|dated?)\s*[:\-]\s*(.+)$", head)
    candidates = [m.group(1)[:40]] if m else []
    for pat in _DATE_PATTERNS:
        candidates += [x.group(1) for x in pat.finditer(head)]
    for c in candidates:
        for pat in _DATE_PATTERNS:
            mm = pat.search(c)
            if mm:
                if "." in mm.group(1) and re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", mm.group(1)):
                    d, mo, y = mm.group(1).split(".")
                    try:
                        return dt.date(int(y), int(mo), int(d))
                    except ValueError:
                        continue
                got = parse_date(mm.group(1))
                if got:
                    return got
    return None


def _type_from_text(text: str) -> str:
    return _type_from_name(text[:200].splitlines()[0] if text.strip() else "")


# -- FHIR R4 ------------------------------------------------------------------------------------
def _fhir_ref_id(ref: str | None) -> str | None:
    if not ref:
        return None
    return ref.rsplit("/", 1)[-1].replace("urn:uuid:", "")


def read_fhir_docref(res: dict, source: str, patients: dict[str, Patient]) -> Note:
    rid = res.get("id") or ""
    subject = _fhir_ref_id((res.get("subject") or {}).get("reference"))
    if not subject:
        raise ValueError("DocumentReference has no subject.reference (which patient?)")
    contents = res.get("content") or []
    texts: list[str] = []
    flags: list[str] = []
    for c in contents:
        att = (c or {}).get("attachment") or {}
        ctype = (att.get("contentType") or "").split(";")[0].strip().lower()
        if ctype not in ("text/plain", "text/markdown"):
            continue
        if "data" not in att:
            raise ValueError("attachment has no inline 'data' (url-only attachments are not fetched)")
        try:
            raw = base64.b64decode(att["data"], validate=True)
        except (binascii.Error, ValueError) as e:
            raise ValueError(f"attachment data is not valid base64: {e}") from None
        text, fl = decode_bytes(raw, source)
        texts.append(text)
        flags += fl
    if not texts:
        raise ValueError("no text/plain or text/markdown attachment")
    text = "\n\n".join(texts)
    _check_text(text, source)
    date = parse_date(res.get("date") or ((res.get("context") or {}).get("period") or {}).get("start"))
    ntype = res.get("type") or {}
    type_text = ntype.get("text") or next((c.get("display") for c in ntype.get("coding") or [] if c.get("display")), None)
    pid = safe_id(subject)
    return Note(pid, safe_id(rid or f"docref-{hash(text) & 0xFFFFFFFF:x}"), text, note_date=date or dt.date.today(),
                date_known=date is not None, note_type=(type_text or "note"), title=res.get("description") or type_text,
                source=f"{source}#DocumentReference/{rid}", flags=flags + ([] if date else ["date_unknown"]))


def _fhir_patient(res: dict) -> Patient:
    names = res.get("name") or []
    name = None
    if names:
        n = names[0]
        name = n.get("text") or " ".join([*(n.get("given") or []), n.get("family") or ""]).strip() or None
    return Patient(safe_id(res.get("id") or "unknown"), name, res.get("birthDate"))


def read_fhir(obj: dict, source: str) -> Iterator[ReadItem | ReadProblem]:
    rtype = obj.get("resourceType")
    patients: dict[str, Patient] = {}
    docs: list[tuple[str, dict]] = []
    if rtype == "Bundle":
        for i, entry in enumerate(obj.get("entry") or []):
            res = (entry or {}).get("resource") or {}
            t = res.get("resourceType")
            if t == "Patient":
                p = _fhir_patient(res)
                patients[p.patient_id] = p
            elif t == "DocumentReference":
                docs.append((f"{source}#entry[{i}]", res))
            elif t:
                yield ReadProblem(f"{source}#entry[{i}]", f"FHIR {t} resource ignored (only Patient and DocumentReference are read)", True)
            else:
                yield ReadProblem(f"{source}#entry[{i}]", "entry without resource.resourceType")
    elif rtype == "DocumentReference":
        docs.append((source, obj))
    elif rtype == "Patient":
        p = _fhir_patient(obj)
        yield ReadItem(p)
        return
    else:
        yield ReadProblem(source, f"unsupported FHIR resourceType {rtype!r}; expected Bundle or DocumentReference")
        return
    items: dict[str, ReadItem] = {}
    for src, res in docs:
        try:
            note = read_fhir_docref(res, src, patients)
        except ValueError as e:
            yield ReadProblem(src, str(e))
            continue
        item = items.setdefault(note.patient_id, ReadItem(patients.get(note.patient_id, Patient(note.patient_id))))
        item.notes.append(note)
    yield from items.values()


# -- CSV ------------------------------------------------------------------------------------------
CSV_COLUMNS = {
    "patient_id": ("patient_id", "subject_id", "patient", "mrn"),
    "text": ("text", "note_text", "body"),
    "note_date": ("note_date", "chartdate", "charttime", "date", "storetime"),
    "note_type": ("note_type", "category", "type", "description"),
    "note_id": ("note_id", "row_id", "id", "hadm_id"),
}


def read_csv(path: Path) -> Iterator[ReadItem | ReadProblem]:
    """Stream rows; each row becomes one note (rows of the same patient are grouped as they come)."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open("rb") as raw:
        head = raw.read(4096)
    if not head.strip():
        yield ReadProblem(str(path), "empty file")
        return
    if b"\x00" in head:
        yield ReadProblem(str(path), "binary content (NUL bytes), not a CSV file")
        return
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
        col = {k: next((fields[c] for c in cands if c in fields), None) for k, cands in CSV_COLUMNS.items()}
        missing = [k for k in ("patient_id", "text") if col[k] is None]
        if missing:
            yield ReadProblem(str(path), f"CSV lacks required column(s) {', '.join(missing)}; header is {reader.fieldnames}")
            return
        for rowno, row in enumerate(reader, start=2):
            src = f"{path}:{rowno}"
            pid_raw = (row.get(col["patient_id"]) or "").strip()
            text = row.get(col["text"]) or ""
            if not pid_raw:
                yield ReadProblem(src, "row without patient id")
                continue
            try:
                _check_text(text, src)
            except ValueError as e:
                yield ReadProblem(src, str(e))
                continue
            date = parse_date(row.get(col["note_date"])) if col["note_date"] else None
            nid = (row.get(col["note_id"]) or "").strip() if col["note_id"] else ""
            pid = safe_id(pid_raw)
            flags = ["decode_replaced"] if "\ufffd" in text else []
            note = Note(pid, safe_id(f"row-{nid}" if nid else f"{path.stem}-row{rowno}"), text,
                        note_date=date or dt.date.today(), date_known=date is not None,
                        note_type=((row.get(col["note_type"]) or "note").strip() if col["note_type"] else "note"),
                        source=src, flags=flags + ([] if date else ["date_unknown"]))
            yield ReadItem(Patient(pid), [note])


# -- dispatch -----------------------------------------------------------------------------------
def read_path(path: str | Path) -> Iterator[ReadItem | ReadProblem]:
    """Read any supported input; never raises for bad input, yields ReadProblem instead."""
    p = Path(path)
    if not p.exists():
        yield ReadProblem(str(p), "no such file or folder")
        return
    if p.is_dir():
        yield from read_folder(p)
        return
    if not p.is_file():
        yield ReadProblem(str(p), "not a regular file")
        return
    suffix = p.suffix.lower()
    try:
        size = p.stat().st_size
    except OSError as e:
        yield ReadProblem(str(p), f"cannot read: {e}")
        return
    if size == 0:
        yield ReadProblem(str(p), "empty file")
        return
    if suffix in NOTE_SUFFIXES:
        try:
            yield ReadItem(Patient(safe_id(p.parent.name)), [read_text_note(p, safe_id(p.parent.name))])
        except (ValueError, OSError) as e:
            yield ReadProblem(str(p), str(e))
        return
    if suffix == ".csv":
        yield from read_csv(p)
        return
    if suffix == ".json":
        if size > MAX_FILE_BYTES:
            yield ReadProblem(str(p), f"JSON file larger than {MAX_FILE_BYTES // 2**20} MB")
            return
        try:
            data = p.read_bytes()
            text, _ = decode_bytes(data, str(p))
            obj = json.loads(text)
        except ValueError as e:
            yield ReadProblem(str(p), f"malformed JSON: {e}")
            return
        if isinstance(obj, dict) and "resourceType" in obj:
            yield from read_fhir(obj, str(p))
        elif is_longhealth(obj):
            yield from read_longhealth(obj, str(p))
        else:
            yield ReadProblem(str(p), "JSON is neither LongHealth ({patient: {texts: ...}}) nor FHIR (resourceType)")
        return
    yield ReadProblem(str(p), f"unsupported file type {suffix or '(none)'}; expected .txt, .md, .json or .csv")
