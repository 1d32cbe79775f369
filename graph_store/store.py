"""The persistent patient store: one SQLite database per workspace.

Notes, the facts extracted from them and the chunks cut from them live in one
database so that an ingest is one transaction: a note and everything derived
from it commit together or not at all. Re-ingesting identical content is a
no-op; changed content under the same source key becomes a new version and
the old version's derived rows are removed (its text is kept for audit).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from clinqa.errors import StorageError, UnknownNoteError, UnknownPatientError
from clinqa.records import Chunk, Fact, Note, Patient, Question
from graph_store.readers import id_fold

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS patients (
    patient_id TEXT PRIMARY KEY,
    name TEXT, birthday TEXT, diagnosis TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    id_fold TEXT
);
CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS notes (
    note_id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(patient_id) ON DELETE CASCADE,
    source_key TEXT NOT NULL,
    version INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    text TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    note_date TEXT, date_known INTEGER NOT NULL,
    note_type TEXT, title TEXT, source TEXT,
    flags TEXT NOT NULL DEFAULT '[]',
    ingest_run TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (patient_id, source_key, version)
);
CREATE INDEX IF NOT EXISTS notes_patient ON notes(patient_id, active);
CREATE TABLE IF NOT EXISTS facts (
    fact_id TEXT PRIMARY KEY,
    note_id TEXT NOT NULL REFERENCES notes(note_id) ON DELETE CASCADE,
    patient_id TEXT NOT NULL,
    type TEXT NOT NULL, name TEXT NOT NULL, assertion TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    date TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_patient ON facts(patient_id, type);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    note_id TEXT NOT NULL REFERENCES notes(note_id) ON DELETE CASCADE,
    patient_id TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    section TEXT, note_date TEXT,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_patient ON chunks(patient_id);
CREATE TABLE IF NOT EXISTS questions (
    patient_id TEXT NOT NULL REFERENCES patients(patient_id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (patient_id, question_id)
);
"""


@dataclass
class NoteWriteResult:
    status: str  # "added" | "unchanged" | "versioned"
    note: Note


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _id_part(value: str) -> str:
    """Escape the separators of a note id (``/`` between patient and key, ``@v`` before a version) reversibly,
    so ``pt/001`` + ``a`` and ``pt`` + ``001/a`` never share an id; ordinary ids read unchanged."""
    return value.replace("%", "%25").replace("/", "%2F").replace("@", "%40")


def storage_error(e: BaseException, path: Path) -> StorageError | None:
    """A full disk or a read-only workspace as its own clear error (SQLite reports both in several ways)."""
    msg = str(e).lower()
    code = getattr(e, "errno", None)
    if code == errno.ENOSPC or "database or disk is full" in msg or "no space left" in msg:
        return StorageError(f"disk full: cannot write to the workspace {path.parent} (free some space and run again; "
                            "nothing half-written was kept)")
    if "database is locked" in msg:
        return StorageError(f"the patient store {path} is busy: another clinqa process is writing it (SQLite: "
                            "database is locked); run again when it has finished (nothing was written)")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or "readonly database" in msg or "read-only" in msg:
        return StorageError(f"the workspace {path.parent} is read-only (check its permissions or mount); "
                            "nothing was written")
    return None


class PatientStore:
    """SQLite-backed store. Thread-safe for the UI: one connection per thread."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        try:
            self._open_schema()
        except sqlite3.DatabaseError as e:
            if not os.access(self.path.parent, os.W_OK) and not self.path.exists():
                raise StorageError(f"the workspace {self.path.parent} is read-only (check its permissions or mount); "
                                   "nothing was written") from None
            raise storage_error(e, self.path) or StorageError(
                f"the patient store {self.path} is damaged ({e}); restore it from a backup "
                "(`clinqa check` reports what is wrong)") from None

    def _open_schema(self) -> None:
        if self._read_only_existing():
            return
        self.con.executescript(SCHEMA)  # idempotent DDL; executescript manages its own transaction
        cols = {r[1] for r in self.con.execute("PRAGMA table_info(patients)")}
        with self.transaction() as con:
            if "id_fold" not in cols:  # stores written before identity checks
                con.execute("ALTER TABLE patients ADD COLUMN id_fold TEXT")
            for (pid,) in con.execute("SELECT patient_id FROM patients WHERE id_fold IS NULL").fetchall():
                con.execute("UPDATE patients SET id_fold=? WHERE patient_id=?", (id_fold(pid), pid))
            con.execute("CREATE INDEX IF NOT EXISTS patients_fold ON patients(id_fold)")
            con.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def _read_only_existing(self) -> bool:
        """An existing store in a workspace we cannot write: open it for reading only (queries still work)."""
        if not self.path.exists() or (os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)):
            return False
        # immutable: a WAL database cannot otherwise be opened where its -shm file cannot be created
        self._local.con = self._connect(f"file:{self.path}?mode=ro&immutable=1", uri=True)
        return True

    # -- connection handling -------------------------------------------------
    @staticmethod
    def _connect(target: str | Path, uri: bool = False) -> sqlite3.Connection:
        con = sqlite3.connect(target, timeout=30, isolation_level=None, check_same_thread=False, uri=uri)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA secure_delete = ON")  # deleted patients' text is zeroed, not left in free pages
        return con

    @property
    def con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._connect(self.path)
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = NORMAL")
            self._local.con = con
        return con

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        con = self.con
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise storage_error(e, self.path) or e
        try:
            yield con
        except BaseException as e:
            if con.in_transaction:
                con.execute("ROLLBACK")
            if isinstance(e, (sqlite3.Error, OSError)):
                err = storage_error(e, self.path)
                if err is not None:
                    raise err from None
            raise
        else:
            try:
                con.execute("COMMIT")
            except sqlite3.Error as e:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise storage_error(e, self.path) or e

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # -- generation counter: lets caches (graph, indexes) know the data changed
    def generation(self, patient_id: str | None = None) -> str:
        """A token that changes whenever the patient's (or any) active notes or derived facts change.

        Caches (graph, indexes) key on it; re-extraction keeps note rows but rewrites facts, so facts count too.
        """
        where, args = ("WHERE patient_id=?", (patient_id,)) if patient_id is not None else ("", ())
        notes = self.con.execute(
            f"SELECT COUNT(*), MAX(created_at), TOTAL(length(note_id)), GROUP_CONCAT(note_id) FROM notes "
            f"{where}{' AND' if where else 'WHERE'} active=1",
            args,
        ).fetchone()
        facts = self.con.execute(
            f'SELECT COUNT(*), MAX(rowid), TOTAL(start), TOTAL(length(data)) FROM facts {where}', args
        ).fetchone()
        return hashlib.sha1(repr((tuple(notes), tuple(facts))).encode()).hexdigest()[:16]

    # -- ingest runs -----------------------------------------------------------
    def start_run(self) -> str:
        run_id = dt.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        with self.transaction() as con:
            con.execute("INSERT INTO ingest_runs(run_id, started_at) VALUES (?, ?)", (run_id, _now()))
        return run_id

    def finish_run(self, run_id: str, summary: dict) -> None:
        with self.transaction() as con:
            con.execute(
                "UPDATE ingest_runs SET finished_at=?, summary=? WHERE run_id=?",
                (_now(), json.dumps(summary), run_id),
            )

    # -- patients ------------------------------------------------------------
    def upsert_patient(self, patient: Patient, con: sqlite3.Connection | None = None) -> None:
        c = con or self.con
        c.execute(
            "INSERT INTO patients(patient_id, name, birthday, diagnosis, metadata, created_at, id_fold) "
            "VALUES (?,?,?,?,?,?,?) "
            # the registered identity is kept: a later source fills blanks, never overwrites (see identity_problem)
            "ON CONFLICT(patient_id) DO UPDATE SET name=COALESCE(name, excluded.name), "
            "birthday=COALESCE(birthday, excluded.birthday), diagnosis=COALESCE(excluded.diagnosis, diagnosis), "
            "metadata=excluded.metadata",
            (patient.patient_id, patient.name, patient.birthday, patient.diagnosis, json.dumps(patient.metadata), _now(),
             id_fold(patient.patient_id)),
        )

    def has_patient(self, patient_id: str) -> bool:
        return self.con.execute("SELECT 1 FROM patients WHERE patient_id=?", (patient_id,)).fetchone() is not None

    def confusable_patient(self, patient_id: str) -> str | None:
        """A stored patient whose id differs from this one only in case or Unicode form (never to be merged)."""
        r = self.con.execute(
            "SELECT patient_id FROM patients WHERE id_fold=? AND patient_id<>?", (id_fold(patient_id), patient_id)
        ).fetchone()
        return r[0] if r else None

    def patient_source(self, patient_id: str) -> str:
        """Where the stored patient's notes came from (named when new input conflicts with it)."""
        r = self.con.execute(
            "SELECT source FROM notes WHERE patient_id=? ORDER BY created_at, note_id LIMIT 1", (patient_id,)
        ).fetchone()
        return (r[0] if r and r[0] else "the store")

    def require_patient(self, patient_id: str) -> None:
        """Raise a clear error for an unknown id; other patients' ids are never listed (the caller may not see them)."""
        if not isinstance(patient_id, str) or not patient_id.strip():
            raise UnknownPatientError("patient id is empty")
        if not self.has_patient(patient_id):
            raise UnknownPatientError(f"unknown patient {patient_id!r} (`clinqa patients` lists the patients stored)")

    def patient(self, patient_id: str) -> Patient:
        self.require_patient(patient_id)
        r = self.con.execute("SELECT * FROM patients WHERE patient_id=?", (patient_id,)).fetchone()
        return Patient(r["patient_id"], r["name"], r["birthday"], r["diagnosis"], json.loads(r["metadata"]))

    def patients(self) -> list[Patient]:
        rows = self.con.execute("SELECT * FROM patients ORDER BY patient_id").fetchall()
        return [Patient(r["patient_id"], r["name"], r["birthday"], r["diagnosis"], json.loads(r["metadata"])) for r in rows]

    def patient_summaries(self) -> list[dict]:
        """Patient id, name, number of active notes and note date range (for pickers and `clinqa patients`)."""
        rows = self.con.execute(
            "SELECT p.patient_id, p.name, p.diagnosis, COUNT(n.note_id) AS n_notes, MIN(n.note_date) AS first, "
            "MAX(n.note_date) AS last FROM patients p LEFT JOIN notes n ON n.patient_id=p.patient_id AND n.active=1 "
            "GROUP BY p.patient_id ORDER BY p.patient_id"
        ).fetchall()
        return [dict(r) for r in rows]

    def delete_patient(self, patient_id: str) -> None:
        """Remove the patient, every note version, fact, chunk and question, and their traces in ingest runs."""
        self.require_patient(patient_id)
        with self.transaction() as con:
            sources = [r[0] for r in con.execute(
                "SELECT DISTINCT source FROM notes WHERE patient_id=? AND source<>''", (patient_id,))]
            con.execute("DELETE FROM patients WHERE patient_id=?", (patient_id,))
            self._scrub_runs(con, [patient_id], sources)
        self.purge_freed()

    @staticmethod
    def _scrub_runs(con: sqlite3.Connection, patient_ids: list[str], sources: list[str]) -> None:
        """Drop a deleted patient's id and source paths from the ingest run summaries.

        A summary line goes when it names one of the sources, the folder of a deleted patient's text notes, or
        the patient id as a whole word; the ``patients`` list loses the id.
        """
        folders = {str(Path(s).parent) for s in sources if "#" not in s and not re.search(r":\d+$", s)}
        folders -= {".", "/"}
        words = [re.compile(rf"(?<![\w-]){re.escape(p)}(?![\w-])") for p in patient_ids]
        marks = [*sources, *folders]

        def named(line: str) -> bool:
            return any(m in line for m in marks) or any(w.search(line) for w in words)

        for run_id, summary in con.execute("SELECT run_id, summary FROM ingest_runs WHERE summary IS NOT NULL").fetchall():
            data = json.loads(summary)
            changed = False
            for key, value in data.items():
                if not isinstance(value, list):
                    continue
                kept = [v for v in value if not (isinstance(v, str) and (v in patient_ids or named(v)))]
                changed |= len(kept) != len(value)
                data[key] = kept
            if changed:
                con.execute("UPDATE ingest_runs SET summary=? WHERE run_id=?", (json.dumps(data), run_id))

    def purge_freed(self) -> None:
        """Push deletions out of the write-ahead log so no copy of deleted rows stays on disk."""
        self.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- notes -----------------------------------------------------------------
    def find_active(self, patient_id: str, source_key: str) -> Note | None:
        r = self.con.execute(
            "SELECT * FROM notes WHERE patient_id=? AND source_key=? AND active=1", (patient_id, source_key)
        ).fetchone()
        return self._note(r) if r else None

    def plan_note(self, note: Note) -> str:
        """What writing this note would do: 'added', 'unchanged' or 'versioned' (no write)."""
        existing = self.find_active(note.patient_id, note.source_key)
        if existing is None:
            return "added"
        return "unchanged" if existing.sha256 == note.sha256 else "versioned"

    def assign_note_id(self, note: Note) -> Note:
        """Give the note its id and version before derived records are computed."""
        row = self.con.execute(
            "SELECT MAX(version) FROM notes WHERE patient_id=? AND source_key=?", (note.patient_id, note.source_key)
        ).fetchone()
        existing = self.find_active(note.patient_id, note.source_key)
        if existing is not None and existing.sha256 == note.sha256:
            return existing
        note.version = (row[0] or 0) + 1
        base = f"{_id_part(note.patient_id)}/{_id_part(note.source_key)}"
        note.note_id = base if note.version == 1 else f"{base}@v{note.version}"
        return note

    def write_note(
        self,
        note: Note,
        patient: Patient | None = None,
        facts: Iterable[Fact] = (),
        chunks: Iterable[Chunk] = (),
    ) -> NoteWriteResult:
        """Write one note with everything derived from it, atomically."""
        existing = self.find_active(note.patient_id, note.source_key)
        if existing is not None and existing.sha256 == note.sha256:
            return NoteWriteResult("unchanged", existing)
        if not note.note_id:
            self.assign_note_id(note)
        facts, chunks = list(facts), list(chunks)
        for rec in (*facts, *chunks):
            if rec.note_id != note.note_id or note.text[rec.start : rec.end] != rec.text:
                raise ValueError(f"derived record {rec!r:.120} does not match note {note.note_id} text")
        with self.transaction() as con:
            self.upsert_patient(patient or Patient(note.patient_id), con)
            if existing is not None:
                con.execute("UPDATE notes SET active=0 WHERE note_id=?", (existing.note_id,))
                con.execute("DELETE FROM facts WHERE note_id=?", (existing.note_id,))
                con.execute("DELETE FROM chunks WHERE note_id=?", (existing.note_id,))
            con.execute(
                "INSERT INTO notes(note_id, patient_id, source_key, version, active, text, sha256, note_date, date_known, "
                "note_type, title, source, flags, ingest_run, created_at) VALUES (?,?,?,?,1,?,?,?,?,?,?,?,?,?,?)",
                (
                    note.note_id, note.patient_id, note.source_key, note.version, note.text, note.sha256,
                    note.note_date.isoformat() if note.note_date else None, int(note.date_known), note.note_type,
                    note.title, note.source, json.dumps(note.flags), note.ingest_run, _now(),
                ),
            )
            self._insert_facts(con, facts)
            self._insert_chunks(con, chunks)
        return NoteWriteResult("versioned" if existing else "added", note)

    def replace_derived(self, note_id: str, facts: Iterable[Fact] | None = None, chunks: Iterable[Chunk] | None = None) -> None:
        """Re-derive a stored note (e.g. after an extractor upgrade), atomically."""
        note = self.note(note_id)
        facts = None if facts is None else list(facts)
        chunks = None if chunks is None else list(chunks)
        for rec in (*(facts or []), *(chunks or [])):
            if rec.note_id != note_id or note.text[rec.start : rec.end] != rec.text:
                raise ValueError(f"derived record does not match note {note_id} text")
        with self.transaction() as con:
            if facts is not None:
                con.execute("DELETE FROM facts WHERE note_id=?", (note_id,))
                self._insert_facts(con, facts)
            if chunks is not None:
                con.execute("DELETE FROM chunks WHERE note_id=?", (note_id,))
                self._insert_chunks(con, chunks)

    @staticmethod
    def _insert_facts(con: sqlite3.Connection, facts: list[Fact]) -> None:
        con.executemany(
            'INSERT OR REPLACE INTO facts(fact_id, note_id, patient_id, type, name, assertion, start, "end", date, data) '
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (f.fact_id, f.note_id, f.patient_id, f.to_dict()["type"], f.name, f.to_dict()["assertion"], f.start,
                 f.end, f.date.isoformat() if f.date else None, json.dumps(f.to_dict()))
                for f in facts
            ],
        )

    @staticmethod
    def _insert_chunks(con: sqlite3.Connection, chunks: list[Chunk]) -> None:
        con.executemany(
            'INSERT OR REPLACE INTO chunks(chunk_id, note_id, patient_id, start, "end", section, note_date, text) '
            "VALUES (?,?,?,?,?,?,?,?)",
            [
                (c.chunk_id, c.note_id, c.patient_id, c.start, c.end, c.section,
                 c.note_date.isoformat() if c.note_date else None, c.text)
                for c in chunks
            ],
        )

    @staticmethod
    def _note(r: sqlite3.Row) -> Note:
        return Note(
            patient_id=r["patient_id"], source_key=r["source_key"], text=r["text"],
            note_date=dt.date.fromisoformat(r["note_date"]) if r["note_date"] else None,
            date_known=bool(r["date_known"]), note_type=r["note_type"], title=r["title"], source=r["source"],
            flags=json.loads(r["flags"]), note_id=r["note_id"], version=r["version"], sha256=r["sha256"],
            ingest_run=r["ingest_run"] or "",
        )

    def note(self, note_id: str) -> Note:
        r = self.con.execute("SELECT * FROM notes WHERE note_id=?", (note_id,)).fetchone()
        if r is None:
            raise UnknownNoteError(f"unknown note {note_id!r}")
        return self._note(r)

    def notes(self, patient_id: str, include_inactive: bool = False) -> list[Note]:
        """Active notes of a patient, ordered by date (unknown dates last) then id."""
        self.require_patient(patient_id)
        q = "SELECT * FROM notes WHERE patient_id=?" + ("" if include_inactive else " AND active=1")
        q += " ORDER BY note_date IS NULL, note_date, note_id, version"
        return [self._note(r) for r in self.con.execute(q, (patient_id,)).fetchall()]

    def delete_note(self, note_id: str) -> None:
        """Delete a note, all its versions and everything derived from them."""
        note = self.note(note_id)
        with self.transaction() as con:
            sources = [r[0] for r in con.execute(
                "SELECT DISTINCT source FROM notes WHERE patient_id=? AND source_key=? AND source<>''",
                (note.patient_id, note.source_key))]
            con.execute(
                "DELETE FROM notes WHERE patient_id=? AND source_key=?", (note.patient_id, note.source_key)
            )
            self._scrub_runs(con, [], sources)
        self.purge_freed()

    # -- derived records -------------------------------------------------------
    def facts(self, patient_id: str, note_id: str | None = None) -> list[Fact]:
        self.require_patient(patient_id)
        q, args = "SELECT data FROM facts WHERE patient_id=?", [patient_id]
        if note_id:
            q += " AND note_id=?"
            args.append(note_id)
        q += ' ORDER BY note_id, start, "end"'
        return [Fact.from_dict(json.loads(r[0])) for r in self.con.execute(q, args).fetchall()]

    def chunks(self, patient_id: str | None = None) -> list[Chunk]:
        if patient_id is not None:
            self.require_patient(patient_id)
            rows = self.con.execute(
                'SELECT * FROM chunks WHERE patient_id=? ORDER BY note_id, start', (patient_id,)
            ).fetchall()
        else:
            rows = self.con.execute("SELECT * FROM chunks ORDER BY patient_id, note_id, start").fetchall()
        return [
            Chunk(r["patient_id"], r["note_id"], r["start"], r["end"], r["text"], r["section"],
                  dt.date.fromisoformat(r["note_date"]) if r["note_date"] else None, r["chunk_id"])
            for r in rows
        ]

    def chunk_ids(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT chunk_id FROM chunks").fetchall()}

    # -- questions -------------------------------------------------------------
    def put_questions(self, questions: Iterable[Question]) -> int:
        qs = list(questions)
        with self.transaction() as con:
            for q in qs:
                con.execute(
                    "INSERT OR REPLACE INTO questions(patient_id, question_id, data) VALUES (?,?,?)",
                    (q.patient_id, q.question_id, json.dumps(q.__dict__, default=str)),
                )
        return len(qs)

    def questions(self, patient_id: str | None = None) -> list[Question]:
        if patient_id:
            rows = self.con.execute("SELECT data FROM questions WHERE patient_id=? ORDER BY question_id", (patient_id,))
        else:
            rows = self.con.execute("SELECT data FROM questions ORDER BY patient_id, question_id")
        return [Question(**json.loads(r[0])) for r in rows.fetchall()]

    def check(self) -> list[str]:
        """Integrity problems of the store (empty when sound): SQLite's own check, dangling references,
        derived rows of switched-off versions, two active versions of one note, and spans that no longer
        match their note's text."""
        con = self.con
        problems = [f"{self.path}: {r[0]}" for r in con.execute("PRAGMA integrity_check").fetchall() if r[0] != "ok"]
        for table, n in con.execute(
            'SELECT "table", COUNT(*) FROM pragma_foreign_key_check GROUP BY "table"'
        ).fetchall():
            problems.append(f"{table}: {n} row(s) point to a missing parent")
        queries = {
            "facts of switched-off note versions": "SELECT COUNT(*) FROM facts f JOIN notes n USING(note_id) WHERE n.active=0",
            "chunks of switched-off note versions": "SELECT COUNT(*) FROM chunks c JOIN notes n USING(note_id) WHERE n.active=0",
            "facts filed under another patient than their note": "SELECT COUNT(*) FROM facts f JOIN notes n USING(note_id) "
            "WHERE f.patient_id<>n.patient_id",
            "chunks filed under another patient than their note": "SELECT COUNT(*) FROM chunks c JOIN notes n USING(note_id) "
            "WHERE c.patient_id<>n.patient_id",
            "notes with more than one active version": "SELECT COUNT(*) FROM (SELECT 1 FROM notes WHERE active=1 "
            "GROUP BY patient_id, source_key HAVING COUNT(*)>1)",
            "chunks whose text does not match their note span": 'SELECT COUNT(*) FROM chunks c JOIN notes n USING(note_id) '
            'WHERE substr(n.text, c.start + 1, c."end" - c.start) <> c.text',
        }
        for what, q in queries.items():
            n = con.execute(q).fetchone()[0]
            if n:
                problems.append(f"{self.path}: {n} {what}")
        return problems

    def counts(self) -> dict[str, int]:
        return {
            t: self.con.execute(f"SELECT COUNT(*) FROM {t}" + (" WHERE active=1" if t == "notes" else "")).fetchone()[0]
            for t in ("patients", "notes", "facts", "chunks", "questions")
        }
