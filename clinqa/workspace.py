"""The workspace: a directory holding the store, indexes and caches, and the ingest pipeline.

One object the CLI, the UI, the agent and the evals all open. Heavy components
(extractors, embedder, LLM) are built lazily and warmed up once.

Writers (ingest, delete, re-extract, index sync) hold the workspace's advisory
file lock (``<home>/writer.lock``), so two processes never write at once; a
second writer waits (``CLINQA_LOCK_TIMEOUT`` seconds, default 3600) and says so.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import filelock
from tqdm.auto import tqdm

from clinqa.errors import ClinqaError, InputError, StorageError, WorkspaceBusyError
from clinqa.records import Chunk, Fact, Note
from graph_store.readers import ReadItem, ReadProblem, confusable_problem, read_path
from graph_store.store import PatientStore, storage_error

DEFAULT_HOME = "./clinqa-data"
LOCK_NAME = "writer.lock"

# `clinqa ingest` exit codes (also in `clinqa ingest --help`)
EXIT_OK = 0  # every input ingested, unchanged, or deliberately skipped (e.g. an image in a notes folder)
EXIT_ALL_FAILED = 1  # inputs failed and nothing was ingested
EXIT_PARTLY_FAILED = 3  # some inputs ingested, some failed (each failure is one line in the summary)


def default_home() -> Path:
    return Path(os.environ.get("CLINQA_HOME") or DEFAULT_HOME)


@dataclass
class IngestSummary:
    added: int = 0
    versioned: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)  # "source: problem"
    skipped: list[str] = field(default_factory=list)
    patients: set[str] = field(default_factory=set)
    questions: int = 0
    flagged: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        """0 only when nothing failed; 3 when the batch partly failed; 1 when nothing was ingested."""
        if not self.failed:
            return EXIT_OK
        return EXIT_PARTLY_FAILED if (self.added or self.versioned or self.unchanged) else EXIT_ALL_FAILED

    def as_dict(self) -> dict:
        return {
            "added": self.added, "versioned": self.versioned, "unchanged": self.unchanged,
            "failed": self.failed, "skipped": self.skipped, "patients": sorted(self.patients),
            "questions": self.questions, "flagged": dict(self.flagged),
        }

    def render(self) -> str:
        lines = [
            f"ingested {self.added} new note(s), {self.versioned} new version(s), {self.unchanged} unchanged; "
            f"{len(self.patients)} patient(s); {self.questions} question(s); "
            f"{len(self.skipped)} skipped; {len(self.failed)} failed"
        ]
        if self.flagged:
            lines.append("flags: " + ", ".join(f"{k}={v}" for k, v in sorted(self.flagged.items())))
        lines += [f"  skipped {s}" for s in self.skipped]
        lines += [f"  FAILED  {s}" for s in self.failed]
        return "\n".join(lines)


def _same_person_field(attr: str, a: str, b: str) -> bool:
    """Whether two registered names / birthdays can be the same person's, with the identity checker's folding:
    names compare as accent- and case-folded words (one may add a middle name), birthdays as the dates they
    can mean (02/05/1955 is 5 February or 2 May); text that is neither compares case-folded."""
    from graph_store.resolution import _birth_dates, _name_tokens

    if attr == "name":
        ta, tb = set(_name_tokens(a)), set(_name_tokens(b))
        if ta and tb:
            return ta <= tb or tb <= ta
    else:
        da, db = _birth_dates(a), _birth_dates(b)
        if da and db:
            return bool(da & db)
    return " ".join(unicodedata.normalize("NFKC", a).casefold().split()) == \
        " ".join(unicodedata.normalize("NFKC", b).casefold().split())


def _lock_timeout() -> float:
    raw = os.environ.get("CLINQA_LOCK_TIMEOUT", "3600")
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise InputError(f"CLINQA_LOCK_TIMEOUT must be a number of seconds, got {raw!r}") from None


class WorkspaceLock:
    """Advisory file lock serialising writers across processes (re-entrant within a thread)."""

    def __init__(self, home: Path):
        self.path = home / LOCK_NAME
        self._lock = filelock.FileLock(str(self.path))

    @contextlib.contextmanager
    def hold(self, wait: bool = True) -> Iterator[None]:
        """Hold the lock; when another process has it, say so and wait (or raise at once when ``wait`` is False)."""
        try:
            try:
                self._lock.acquire(timeout=0)
            except filelock.Timeout:
                if not wait:
                    raise WorkspaceBusyError(f"another clinqa process is writing to {self.path.parent}") from None
                limit = _lock_timeout()
                print(f"waiting for another clinqa process writing to {self.path.parent} (lock {self.path})",
                      file=sys.stderr)
                try:
                    self._lock.acquire(timeout=limit)
                except filelock.Timeout:
                    raise WorkspaceBusyError(
                        f"another clinqa process has been writing to {self.path.parent} for over {limit:.0f} s; "
                        f"try again later (lock file {self.path})") from None
        except OSError as e:
            raise storage_error(e, self.path) or StorageError(f"cannot take the workspace lock {self.path}: {e}") from None
        try:
            yield
        finally:
            self._lock.release()


def derive_records(note: Note, extractor, chunker) -> tuple[list[Fact], list[Chunk]]:
    """Facts and chunks for a note whose id is assigned; shared by the workspace and scale-out workers (scale/)."""
    facts = extractor.run(note) if extractor is not None else []
    chunks = chunker.run(note, facts) if chunker is not None else []
    return facts, chunks


class Workspace:
    """Opens (creating if needed) a clinqa workspace directory."""

    def __init__(self, home: str | Path | None = None, *, extract: bool = True, chunk: bool = True):
        self.home = Path(home) if home is not None else default_home()
        if self.home.exists() and not self.home.is_dir():
            raise ClinqaError(f"workspace path {self.home} exists and is not a directory")
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise storage_error(e, self.home / "x") or StorageError(f"cannot create workspace {self.home}: {e}") from None
        self.lock = WorkspaceLock(self.home)
        store_path = self.home / "clinqa.sqlite"
        if store_path.exists():
            self.store = PatientStore(store_path)
        else:
            # Two processes creating one SQLite file (and switching it to WAL) can get SQLite's immediate
            # "database is locked", which no busy timeout waits out: the first creator holds the writer lock.
            with self.lock.hold():
                self.store = PatientStore(store_path)
        self._extract = extract
        self._chunk = chunk
        self._extractor = None
        self._chunker = None
        self._retriever = None
        self._graphs = None

    # -- heavy components, built on first use --------------------------------------------------
    @property
    def extractor(self):
        """The clinical extraction pipeline (extractors layer), or None when disabled/unavailable."""
        if self._extractor is None and self._extract:
            try:
                from extractors import ClinicalExtractor
            except ImportError:
                self._extract = False
                return None
            self._extractor = ClinicalExtractor()
            self._extractor.warm_up()
        return self._extractor

    @property
    def chunker(self):
        if self._chunker is None and self._chunk:
            try:
                from retrieval import NoteChunker
            except ImportError:
                self._chunk = False
                return None
            self._chunker = NoteChunker()
        return self._chunker

    @property
    def retriever(self):
        """Hybrid retriever over this workspace's chunks (retrieval layer)."""
        if self._retriever is None:
            from retrieval import Retriever

            self._retriever = Retriever(self)
        return self._retriever

    @property
    def graphs(self):
        """Per-patient knowledge graphs and timeline queries (graph_store layer)."""
        if self._graphs is None:
            from graph_store.graph import PatientGraphs

            self._graphs = PatientGraphs(self.store)
        return self._graphs

    # -- ingest ------------------------------------------------------------------------------------
    def derive(self, note: Note) -> tuple[list[Fact], list[Chunk]]:
        """Facts and chunks for a note whose id is assigned."""
        return derive_records(note, self.extractor, self.chunker)

    def ingest(self, paths: Iterable[str | Path], progress: bool = True) -> IngestSummary:
        """Read, extract, chunk and store; one transaction per note; bad input is reported, not fatal."""
        return self.ingest_items((item for path in paths for item in read_path(path)), progress=progress)

    def ingest_items(self, items: Iterable[ReadItem | ReadProblem], progress: bool = True,
                     derive: Callable[[Note], tuple[list[Fact], list[Chunk]]] | None = None) -> IngestSummary:
        """Ingest records already read (by a reader, the eval harness or the UI), holding the writer lock.

        A disk-full or read-only workspace stops the batch with a StorageError (every later note would fail
        the same way); notes committed before it stay, each complete. ``derive`` replaces ``self.derive``
        (scale.ingest hands in facts and chunks computed on a Ray cluster; this process stays the one writer).
        """
        summary = IngestSummary()
        with self.lock.hold():
            run_id = self.store.start_run()
            bar = tqdm(desc="ingest", unit="note", disable=not progress)
            failing = False
            try:
                for item in items:
                    if isinstance(item, ReadProblem):
                        (summary.skipped if item.skipped else summary.failed).append(str(item))
                        continue
                    self._ingest_item(item, run_id, summary, bar, derive or self.derive)
            except StorageError as e:
                failing = True
                done = summary.added + summary.versioned
                raise StorageError(f"{e}; {done} note(s) of this batch were stored before it, each complete") from None
            finally:
                bar.close()
                try:
                    self.store.finish_run(run_id, summary.as_dict())
                except StorageError:
                    if not failing:
                        raise
            if self._chunk:  # also when nothing changed: finishes an index sync a killed run left undone
                self.sync_indexes(progress=progress)
        return summary

    def identity_problem(self, item: ReadItem) -> str | None:
        """Why this patient record must not be merged into the store (None when it may).

        Refused: an id that differs from a stored one only in case or Unicode form, and a stored id whose
        registered name or birthday differs from the input's. Both name the two sources.
        """
        pid = item.patient.patient_id
        other = self.store.confusable_patient(pid)
        if other is not None:
            return confusable_problem("patient id", pid, [(other, f"stored, from {self.store.patient_source(other)}")])
        if not self.store.has_patient(pid):
            return None
        stored = self.store.patient(pid)
        for attr in ("name", "birthday"):
            old, new = getattr(stored, attr), getattr(item.patient, attr)
            if old and new and not _same_person_field(attr, str(old), str(new)):
                return (f"patient {pid!r} is stored with {attr} {old!r} (from {self.store.patient_source(pid)}) but "
                        f"{item.source or 'this input'} gives {new!r}; refused rather than merging two people's records")
        return None

    def _ingest_item(self, item: ReadItem, run_id: str, summary: IngestSummary, bar, derive) -> None:
        problem = self.identity_problem(item)
        if problem is not None:
            sources = [n.source for n in item.notes] or [item.source or item.patient.patient_id]
            summary.failed += [f"{src}: {problem}" for src in sources]
            return
        summary.patients.add(item.patient.patient_id)
        if not item.notes:
            self.store.upsert_patient(item.patient)
        for note in item.notes:
            note.ingest_run = run_id
            try:
                if self.store.plan_note(note) == "unchanged":
                    summary.unchanged += 1
                    bar.update(1)
                    continue
                self.store.assign_note_id(note)
                facts, chunks = derive(note)
                result = self.store.write_note(note, item.patient, facts, chunks)
            except StorageError:
                raise
            except ClinqaError as e:
                summary.failed.append(f"{note.source}: {e}")
                continue
            except Exception as e:  # an extractor bug must not lose the batch; say which note
                summary.failed.append(f"{note.source}: processing failed ({type(e).__name__}: {e})")
                continue
            setattr(summary, result.status, getattr(summary, result.status) + 1)
            summary.flagged.update(note.flags)
            bar.update(1)
        if item.questions:
            summary.questions += self.store.put_questions(item.questions)

    def sync_indexes(self, progress: bool | None = None) -> None:
        """Bring persisted retrieval indexes in line with the store (after ingest or deletion)."""
        try:
            retriever = self.retriever
        except ImportError:
            return
        with self.lock.hold():
            try:
                retriever.sync(progress=progress)
            except (OSError, sqlite3.Error) as e:
                err = storage_error(e, self.home / "index" / "x")
                if err is None:
                    raise
                raise StorageError(f"{err}; the notes are stored, the search index is not updated "
                                   "(run `clinqa reindex` once this is fixed)") from None

    def _chunk_texts(self, where: str, args: tuple) -> list[str]:
        return [r[0] for r in self.store.con.execute(f"SELECT DISTINCT text FROM chunks WHERE {where}", args)]

    def _forget_embeddings(self, texts: list[str]) -> None:
        """Drop cached vectors of chunk texts no remaining chunk uses (deleted data leaves no derived trace)."""
        still = {t for t in texts if self.store.con.execute("SELECT 1 FROM chunks WHERE text=? LIMIT 1", (t,)).fetchone()}
        gone = [t for t in texts if t not in still]
        try:
            retriever = self.retriever
        except ImportError:
            return
        retriever.forget_texts(gone)

    def delete_patient(self, patient_id: str) -> None:
        """Delete a patient from the store, the indexes, the embedding cache and the ingest run records."""
        with self.lock.hold():
            texts = self._chunk_texts("patient_id=?", (patient_id,)) if self.store.has_patient(patient_id) else []
            self.store.delete_patient(patient_id)
            self.sync_indexes()
            self._forget_embeddings(texts)

    def delete_note(self, note_id: str) -> None:
        """Delete a note (all versions) and everything derived from it, indexes and cached vectors included."""
        with self.lock.hold():
            note = self.store.note(note_id)
            texts = self._chunk_texts(
                "note_id IN (SELECT note_id FROM notes WHERE patient_id=? AND source_key=?)",
                (note.patient_id, note.source_key))
            self.store.delete_note(note_id)
            self.sync_indexes()
            self._forget_embeddings(texts)

    def reextract(self, patient_id: str | None = None, progress: bool = True) -> int:
        """Re-run extractors and chunking on stored notes (after an extractor upgrade)."""
        pids = [patient_id] if patient_id else [p.patient_id for p in self.store.patients()]
        n = 0
        with self.lock.hold():
            for pid in pids:
                for note in tqdm(self.store.notes(pid), desc=f"re-extract {pid}", disable=not progress):
                    facts, chunks = self.derive(note)
                    self.store.replace_derived(note.note_id, facts, chunks if self._chunk else None)
                    n += 1
            self.sync_indexes(progress=progress)
        return n
