"""Readers: turn source files into Patient/Note/Question records.

Each reader yields ``ReadItem``s; a problem with one file or one record is
yielded as a ``ReadProblem`` naming the file and the problem, so a batch goes
on. Supported: a folder of .txt/.md notes (one sub-folder per patient),
LongHealth JSON, FHIR R4 Bundle / DocumentReference JSON, and CSV exports
shaped like MIMIC NOTEEVENTS (streamed row by row).

Shapes are checked with pydantic models (``graph_store.schemas``) before a
record is read, so a wrong-shape file is one clear problem, never a traceback.
Identity: patient ids and note source keys are kept exactly as the source gives
them (``checked_id``); ids that a person or a filesystem could confuse (the same
text up to case, white space or Unicode form, see ``id_fold``) are refused with
a problem that names both sources, never merged.
"""
from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import hashlib
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dateparser
from dateutil import parser as dateutil_parser
from pydantic import ValidationError

from clinqa.records import Note, Patient, Question
from graph_store import schemas

MAX_NOTE_BYTES = 5 * 1024 * 1024  # a note larger than this is refused (it is almost surely not one note)
MAX_FILE_BYTES = 512 * 1024 * 1024  # JSON/FHIR files are parsed whole; CSV is streamed and has no limit
NOTE_SUFFIXES = {".txt", ".md"}


@dataclass
class ReadItem:
    patient: Patient
    notes: list[Note] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    source: str = ""  # where the patient record came from (named in identity conflicts)


@dataclass
class ReadProblem:
    source: str
    problem: str
    skipped: bool = False  # True: deliberately ignored (e.g. unsupported file), not an error

    def __str__(self) -> str:
        """One line, whatever the file name holds (control characters are shown escaped)."""
        return f"{_one_line(self.source)}: {_one_line(self.problem)}"


def _one_line(text: str) -> str:
    return "".join(ch if unicodedata.category(ch) != "Cc" else ascii(ch)[1:-1] for ch in text)


# -- identity ---------------------------------------------------------------------------------
def checked_id(value: object) -> str:
    """A source id exactly as given (never transformed, so two sources can never be made one).

    Raises ValueError for an empty id or one holding control characters (a line break in an id is a broken export).
    """
    text = str(value)
    if not text.strip():
        raise ValueError("empty id")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ValueError(f"id {text!r} contains control characters")
    return text


def id_fold(value: str) -> str:
    """The form under which two ids could be taken for one another: Unicode compatibility form, letter case
    and surrounding or repeated white space folded (``Müller`` NFC/NFD, ``P1``/``p1``, ``p1 ``/``p1``)."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def confusable_groups(ids: Iterable[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Ids (with their sources) that differ but fold to the same form: ``{id: [(other id, its source), ...]}``."""
    by_fold: dict[str, dict[str, str]] = {}
    for ident, source in ids:
        by_fold.setdefault(id_fold(ident), {}).setdefault(ident, source)
    out: dict[str, list[tuple[str, str]]] = {}
    for group in by_fold.values():
        if len(group) > 1:
            for ident in group:
                out[ident] = [(o, s) for o, s in group.items() if o != ident]
    return out


def confusable_problem(kind: str, ident: str, others: list[tuple[str, str]]) -> str:
    names = ", ".join(f"{o!r} ({s})" for o, s in others)
    return (f"{kind} {ident!r} differs from {names} only in letter case, white space or Unicode form; "
            f"refused rather than guessing whether they are the same {kind.split()[0]} (rename one)")


# -- helpers ----------------------------------------------------------------------------
def decode_bytes(data: bytes, source: str) -> tuple[str, list[str]]:
    """UTF-8 first (BOM tolerated); else a detected encoding, recorded on the note as ``encoding:NAME``.

    Detection (charset-normalizer) is unreliable on short, mostly-ASCII notes: it may read one accented Latin-1
    byte plus the ASCII letter after it as one CJK character. So when most bytes are ASCII only single-byte
    readings count, and among equally plausible ones Windows-1252 (the superset of Latin-1 that Western
    exports use) wins; a text no single-byte code page explains falls back to Windows-1252 / Latin-1.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its byte-order mark (Windows "Unicode" exports)
        try:
            return data.decode("utf-16"), ["encoding:utf-16"]
        except UnicodeDecodeError:
            raise ValueError("starts with a UTF-16 byte-order mark but is not valid UTF-16") from None
    if b"\x00" in data[:8192]:
        raise ValueError("binary content (NUL bytes), not a text note")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    results = list(charset_normalizer.from_bytes(data))
    mostly_ascii = sum(b < 0x80 for b in data) >= 0.7 * len(data)
    if mostly_ascii:
        results = [r for r in results if len(str(r)) == len(data)]  # single-byte readings only
        if not results:
            return (western, ["encoding:cp1252"]) if western is not None else (data.decode("latin-1"), ["encoding:latin-1"])
    if not results:
        raise ValueError("binary or non-text content (not UTF-8 and no text encoding fits)")
    least = min(r.chaos for r in results)
    best = [r for r in results if r.chaos == least]
    if western is not None and any(str(r) == western for r in best):
        return western, ["encoding:cp1252"]
    return str(best[0]), [f"encoding:{best[0].encoding}"]


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
    if "\x00" in text:
        raise ValueError("note text contains NUL characters (binary data, not a note)")
    if len(text.encode("utf-8", "replace")) > MAX_NOTE_BYTES:
        raise ValueError(f"note is larger than {MAX_NOTE_BYTES // (1024 * 1024)} MB")


def _date_flags(date: dt.date | None) -> list[str]:
    return [] if date else ["date_unknown"]


# -- text folder ----------------------------------------------------------------------------
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
FILENAME_DATE = re.compile(r"(\d{4})[-_]?(\d{2})[-_]?(\d{2})")


def read_text_note(path: Path, patient_id: str) -> Note:
    """One .txt/.md note. Date: front matter (``---`` block of ``key: value``), else a date in the file name,
    else the note's own ``Date:`` line or first date in its opening lines; undated notes stay undated."""
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
    if date is None:
        date = _date_in_text(text)
    return Note(
        patient_id=patient_id,
        source_key=checked_id(path.name),
        text=text,
        note_date=date,
        date_known=date is not None,
        note_type=meta.get("type") or _type_from_name(path.stem),
        title=meta.get("title") or path.stem,
        source=str(path),
        flags=flags + _date_flags(date),
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


def _named(paths: list[Path], kind: str) -> Iterator[tuple[str, Path] | ReadProblem]:
    """(id, path) for each path's name; names that are empty or confusable with a sibling become problems."""
    named: list[tuple[str, Path]] = []
    for p in paths:
        try:
            named.append((checked_id(p.name), p))
        except ValueError as e:
            yield ReadProblem(str(p), f"unusable {kind}: {e}")
    clash = confusable_groups((i, str(p)) for i, p in named)
    for ident, p in named:
        if ident in clash:
            yield ReadProblem(str(p), confusable_problem(kind, ident, clash[ident]))
        else:
            yield ident, p


def read_folder(root: Path) -> Iterator[ReadItem | ReadProblem]:
    """A folder with one sub-folder per patient (or a single patient folder of notes)."""
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    direct = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in NOTE_SUFFIXES)
    if not subdirs and not direct:
        yield ReadProblem(str(root), "folder holds no patient sub-folders and no .txt/.md notes")
        return
    groups = [*([root.resolve()] if direct else []), *subdirs]
    for got in _named(groups, "patient id"):
        if isinstance(got, ReadProblem):
            yield got
            continue
        patient_id, folder = got
        item = ReadItem(Patient(patient_id), source=str(folder))
        meta_file = folder / "patient.json"
        if meta_file.is_file():
            try:
                meta = schemas.PatientMeta.model_validate(json.loads(meta_file.read_text("utf-8")))
                item.patient = Patient(patient_id, meta.name, meta.birthday, meta.diagnosis)
            except ValidationError as e:
                yield ReadProblem(str(meta_file), f"malformed patient.json: {schemas.shape_problem(e)}")
            except (ValueError, UnicodeDecodeError) as e:
                yield ReadProblem(str(meta_file), f"malformed patient.json: {e}")
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "patient.json" and not p.name.startswith("."))
        notes = []
        for path in files:
            if path.suffix.lower() not in NOTE_SUFFIXES:
                yield ReadProblem(str(path), f"unsupported file type {path.suffix or '(none)'}; expected .txt or .md", True)
            else:
                notes.append(path)
        for got_note in _named(notes, "note file name"):
            if isinstance(got_note, ReadProblem):
                yield got_note
                continue
            try:
                item.notes.append(read_text_note(got_note[1], patient_id))
            except (ValueError, OSError) as e:
                yield ReadProblem(str(got_note[1]), str(e))
        if item.notes:
            yield item


# -- LongHealth JSON --------------------------------------------------------------------------
def is_longhealth(obj: object) -> bool:
    """LongHealth's shape at the top level: an object of patient objects, at least one holding ``texts``."""
    return isinstance(obj, dict) and bool(obj) and any(isinstance(v, dict) and "texts" in v for v in obj.values())


def read_longhealth(obj: dict, source: str) -> Iterator[ReadItem | ReadProblem]:
    """LongHealth benchmark JSON: {patient_XX: {name, birthday, diagnosis, texts{text_i}, questions[...]}}."""
    keyed: list[tuple[str, str, object]] = []
    for key, p in obj.items():
        try:
            keyed.append((checked_id(key), key, p))
        except ValueError as e:
            yield ReadProblem(f"{source}#{key}", f"unusable patient id: {e}")
    clash = confusable_groups((pid, f"{source}#{key}") for pid, key, _ in keyed)
    for pid, key, p in keyed:
        src = f"{source}#{key}"
        if pid in clash:
            yield ReadProblem(src, confusable_problem("patient id", pid, clash[pid]))
            continue
        try:
            rec = schemas.LongHealthPatient.model_validate(p)
        except ValidationError as e:
            yield ReadProblem(src, schemas.shape_problem(e, root="patient record"))
            continue
        extra = {k: v for k, v in (rec.model_extra or {}).items() if isinstance(v, (str, int, float, bool))}
        item = ReadItem(Patient(pid, rec.name, rec.birthday, rec.diagnosis, extra), source=src)
        tkeys: list[tuple[str, str]] = []
        for tkey in rec.texts:
            try:
                tkeys.append((checked_id(tkey), tkey))
            except ValueError as e:
                yield ReadProblem(f"{src}.{tkey}", f"unusable text key: {e}")
        tclash = confusable_groups((k, f"{src}.{raw}") for k, raw in tkeys)
        for nkey, tkey in tkeys:
            text = rec.texts[tkey]
            if nkey in tclash:
                yield ReadProblem(f"{src}.{tkey}", confusable_problem("note key", nkey, tclash[nkey]))
                continue
            if not isinstance(text, str):
                yield ReadProblem(f"{src}.{tkey}", f"text is not a string (got {type(text).__name__})")
                continue
            try:
                _check_text(text, source)
            except ValueError as e:
                yield ReadProblem(f"{src}.{tkey}", str(e))
                continue
            date = parse_date(rec.text_dates.get(tkey)) or _date_in_text(text)
            item.notes.append(
                Note(pid, nkey, text, note_date=date, date_known=date is not None,
                     note_type=rec.text_types.get(tkey) or _type_from_text(text), title=tkey, source=f"{src}.{tkey}",
                     flags=_date_flags(date))
            )
        for i, q in enumerate(rec.questions):
            try:
                qrec = schemas.LongHealthQuestion.model_validate(q)
            except ValidationError as e:
                yield ReadProblem(f"{src}.questions[{i}]", schemas.shape_problem(e, root="question"))
                continue
            extra_q = dict(qrec.model_extra or {})
            options = {k[-1].upper(): str(v) for k, v in extra_q.items() if re.fullmatch(r"answer_[a-f]", k) and v is not None}
            item.questions.append(
                Question(
                    patient_id=pid, question_id=str(extra_q.get("No", extra_q.get("id", i))), text=qrec.question,
                    options=options, correct=qrec.correct, answer_location=qrec.answer_location, kind=qrec.kind,
                    extra={k: v for k, v in extra_q.items() if not re.fullmatch(r"answer_[a-f]", k)},
                )
            )
        if item.notes:
            yield item


_DATE_PATTERNS = [
    re.compile(r"\b(\d{4}-\d{2}-\d{2})\b"),
    re.compile(r"\b(\d{1,2}/\d{1,2}/\d{4})\b"),
    re.compile(r"\b(\d{1,2}\.\d{1,2}\.\d{4})\b"),
    re.compile(r"\b((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? \d{4})\b"),
    re.compile(r"\b(\d{1,2}[ -](?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*[ -]\d{4})\b"),
]


_BIRTH_CUE = re.compile(r"\b(?:born|b\.|dob|d\.o\.b\.?|date of birth|birth ?date|birthday)\W*(?:on\W*)?$", re.I)


def _date_in_text(text: str) -> dt.date | None:
    """The note's own date: a 'Date:' header, else the first date in the opening lines that is not a birth date
    ("born 19.06.1957", "DOB: ...")."""
    head = text[:600]
    m = re.search(r"(?im)^\s*(?:date(?: of (?:service|report|discharge|admission))?|dated?)\s*[:\-]\s*(.+)$", head)
    candidates = [m.group(1)[:40]] if m else []
    found = sorted((x.start(1), x.group(1)) for pat in _DATE_PATTERNS for x in pat.finditer(head)
                   if not _BIRTH_CUE.search(head[max(0, x.start(1) - 20):x.start(1)]))
    candidates += [c for _, c in found]
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
    """The id part of a reference (``Patient/123`` -> ``123``, ``urn:uuid:abc`` -> ``abc``), as given."""
    if not ref:
        return None
    tail = ref.rsplit("/", 1)[-1]
    return tail[len("urn:uuid:"):] if tail.startswith("urn:uuid:") else tail


def read_fhir_docref(obj: dict, source: str) -> Note:
    """One DocumentReference with inline text attachments -> a Note; ValueError names the problem."""
    try:
        res = schemas.DocumentReference.model_validate(obj)
    except ValidationError as e:
        raise ValueError(schemas.shape_problem(e)) from None
    subject = _fhir_ref_id(res.subject.reference if res.subject else None)
    if not subject:
        raise ValueError("DocumentReference has no subject.reference (which patient?)")
    texts: list[str] = []
    flags: list[str] = []
    for c in res.content:
        ctype = (c.attachment.contentType or "").split(";")[0].strip().lower()
        if ctype not in ("text/plain", "text/markdown"):
            continue
        if c.attachment.data is None:
            raise ValueError("attachment has no inline 'data' (url-only attachments are not fetched)")
        try:
            raw = base64.b64decode(c.attachment.data, validate=True)
        except (binascii.Error, ValueError) as e:
            raise ValueError(f"attachment data is not valid base64: {e}") from None
        text, fl = decode_bytes(raw, source)
        texts.append(text)
        flags += fl
    if not texts:
        raise ValueError("no text/plain or text/markdown attachment")
    text = "\n\n".join(texts)
    _check_text(text, source)
    date = parse_date(res.date or (res.context.period.start if res.context and res.context.period else None))
    type_text = None
    if res.type is not None:
        type_text = res.type.text or next((c.display for c in res.type.coding if c.display), None)
    # without an id the content is the identity (stable across runs, unlike Python's salted hash())
    key = checked_id(res.id) if res.id else "docref-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return Note(checked_id(subject), key, text, note_date=date, date_known=date is not None,
                note_type=(type_text or "note"), title=res.description or type_text,
                source=f"{source}#DocumentReference/{res.id or key}", flags=flags + _date_flags(date))


def _fhir_patient(obj: dict) -> Patient:
    try:
        res = schemas.FhirPatient.model_validate(obj)
    except ValidationError as e:
        raise ValueError(schemas.shape_problem(e)) from None
    if not res.id:
        raise ValueError("Patient resource has no id")
    name = None
    if res.name:
        n = res.name[0]
        name = n.text or " ".join([*n.given, n.family or ""]).strip() or None
    return Patient(checked_id(res.id), name, res.birthDate)


def read_fhir(obj: dict, source: str) -> Iterator[ReadItem | ReadProblem]:
    rtype = obj.get("resourceType")
    patients: dict[str, Patient] = {}
    docs: list[tuple[str, dict]] = []
    if rtype == "Bundle":
        try:
            bundle = schemas.Bundle.model_validate(obj)
        except ValidationError as e:
            yield ReadProblem(source, schemas.shape_problem(e))
            return
        for i, entry in enumerate(bundle.entry):
            src = f"{source}#entry[{i}]"
            try:
                res = schemas.BundleEntry.model_validate(entry).resource
            except ValidationError as e:
                yield ReadProblem(src, schemas.shape_problem(e, root="entry"))
                continue
            t = res.get("resourceType")
            if t == "Patient":
                try:
                    p = _fhir_patient(res)
                except ValueError as e:
                    yield ReadProblem(src, str(e))
                    continue
                patients[p.patient_id] = p
            elif t == "DocumentReference":
                docs.append((src, res))
            elif isinstance(t, str) and t:
                yield ReadProblem(src, f"FHIR {t} resource ignored (only Patient and DocumentReference are read)", True)
            else:
                yield ReadProblem(src, "entry without resource.resourceType")
    elif rtype == "DocumentReference":
        docs.append((source, obj))
    elif rtype == "Patient":
        try:
            yield ReadItem(_fhir_patient(obj), source=source)
        except ValueError as e:
            yield ReadProblem(source, str(e))
        return
    else:
        yield ReadProblem(source, f"unsupported FHIR resourceType {rtype!r}; expected Bundle or DocumentReference")
        return
    clash = confusable_groups((pid, source) for pid in patients)
    items: dict[str, ReadItem] = {}
    for src, res in docs:
        try:
            note = read_fhir_docref(res, src)
        except ValueError as e:
            yield ReadProblem(src, str(e))
            continue
        if note.patient_id in clash:
            yield ReadProblem(src, confusable_problem("patient id", note.patient_id, clash[note.patient_id]))
            continue
        item = items.setdefault(
            note.patient_id, ReadItem(patients.get(note.patient_id, Patient(note.patient_id)), source=source))
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


def _csv_encoding(path: Path) -> tuple[str, list[str]]:
    """UTF-8 when the first MB decodes as UTF-8, else the detected encoding (recorded on every row's note)."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    try:
        head.decode("utf-8-sig")
        return "utf-8-sig", []
    except UnicodeDecodeError as e:
        if e.start >= len(head) - 4:  # a multi-byte character cut at the end of the sample
            return "utf-8-sig", []
    _, flags = decode_bytes(head, str(path))
    return flags[0].split(":", 1)[1], flags


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
    try:
        encoding, enc_flags = _csv_encoding(path)
    except ValueError as e:
        yield ReadProblem(str(path), str(e))
        return
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.DictReader(fh, strict=True)  # a broken quote is an error, not the rest of the file as one note
        try:
            header = reader.fieldnames or []
        except csv.Error as e:
            yield ReadProblem(str(path), f"malformed CSV header: {e}")
            return
        fields = {(f or "").strip().lower(): f for f in header}
        col = {k: next((fields[c] for c in cands if c in fields), None) for k, cands in CSV_COLUMNS.items()}
        missing = [k for k in ("patient_id", "text") if col[k] is None]
        if missing:
            yield ReadProblem(str(path), f"CSV lacks required column(s) {', '.join(missing)}; header is {header}")
            return
        rowno = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                yield ReadProblem(f"{path}:{reader.line_num}", f"malformed CSV row: {e}")
                break  # the parser cannot resynchronise after a broken quote
            rowno += 1
            src = f"{path}:{rowno}"
            if None in row:
                yield ReadProblem(src, f"row has {len(header) + len(row[None])} fields, header has {len(header)}")
                continue
            try:
                rec = schemas.CsvRow.model_validate({k: (row.get(c) if c else None) for k, c in col.items()})
            except ValidationError as e:
                yield ReadProblem(src, schemas.shape_problem(e))
                continue
            if not rec.patient_id.strip():
                yield ReadProblem(src, "row without patient id")
                continue
            try:
                pid = checked_id(rec.patient_id)
                _check_text(rec.text, src)
            except ValueError as e:
                yield ReadProblem(src, str(e))
                continue
            date = parse_date(rec.note_date)
            nid = (rec.note_id or "").strip()
            flags = enc_flags + (["decode_replaced"] if "\ufffd" in rec.text else [])
            note = Note(pid, f"row-{nid}" if nid else f"{path.stem}-row{rowno}", rec.text,
                        note_date=date, date_known=date is not None,
                        note_type=(rec.note_type or "note").strip() or "note",
                        source=src, flags=flags + _date_flags(date))
            yield ReadItem(Patient(pid), [note], source=src)


# -- dispatch -----------------------------------------------------------------------------------
def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    seen: dict[str, object] = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError(f"duplicate key {k!r} (the second record would silently replace the first)")
        seen[k] = v
    return seen


def read_path(path: str | Path) -> Iterator[ReadItem | ReadProblem]:
    """Read any supported input; never raises for bad input, yields ReadProblem instead.

    An input that yields no record and no error (a CSV with a header only, a Bundle without documents, a
    folder of images) is a problem too: the user asked for notes and got none.
    """
    p = Path(path)
    found = False
    try:
        for got in _read_path(p):
            found = found or isinstance(got, ReadItem) or not got.skipped
            yield got
    except OSError as e:  # unreadable file or folder (permissions, I/O error): one problem, the batch goes on
        found = True
        yield ReadProblem(str(p), f"cannot read: {e.strerror or e}")
    if not found:
        yield ReadProblem(str(p), "no notes found (nothing in it is a note clinqa reads)")


def _read_path(p: Path) -> Iterator[ReadItem | ReadProblem]:
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
    size = p.stat().st_size
    if size == 0:
        yield ReadProblem(str(p), "empty file")
        return
    if suffix in NOTE_SUFFIXES:
        try:
            pid = checked_id(p.resolve().parent.name)
            yield ReadItem(Patient(pid), [read_text_note(p, pid)], source=str(p.parent))
        except ValueError as e:
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
            text, _ = decode_bytes(p.read_bytes(), str(p))
            obj = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except (ValueError, RecursionError) as e:
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
