"""The workspace: a directory holding the store, indexes and caches, and the ingest pipeline.

One object the CLI, the UI, the agent and the evals all open. Heavy components
(extractors, embedder, LLM) are built lazily and warmed up once.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from clinqa.errors import ClinqaError
from clinqa.records import Chunk, Fact, Note
from graph_store.readers import ReadItem, ReadProblem, read_path
from graph_store.store import PatientStore

DEFAULT_HOME = "./clinqa-data"


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


class Workspace:
    """Opens (creating if needed) a clinqa workspace directory."""

    def __init__(self, home: str | Path | None = None, *, extract: bool = True, chunk: bool = True):
        self.home = Path(home) if home is not None else default_home()
        if self.home.exists() and not self.home.is_dir():
            raise ClinqaError(f"workspace path {self.home} exists and is not a directory")
        self.home.mkdir(parents=True, exist_ok=True)
        self.store = PatientStore(self.home / "clinqa.sqlite")
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
        facts = self.extractor.run(note) if self.extractor is not None else []
        chunks = self.chunker.run(note, facts) if self.chunker is not None else []
        return facts, chunks

    def ingest(self, paths: Iterable[str | Path], progress: bool = True) -> IngestSummary:
        """Read, extract, chunk and store; one transaction per note; bad input is reported, not fatal."""
        return self.ingest_items((item for path in paths for item in read_path(path)), progress=progress)

    def ingest_items(self, items: Iterable[ReadItem | ReadProblem], progress: bool = True) -> IngestSummary:
        """Ingest records already read (by a reader, the eval harness or the UI)."""
        summary = IngestSummary()
        run_id = self.store.start_run()
        bar = tqdm(desc="ingest", unit="note", disable=not progress)
        try:
            for item in items:
                if isinstance(item, ReadProblem):
                    (summary.skipped if item.skipped else summary.failed).append(str(item))
                    continue
                self._ingest_item(item, run_id, summary, bar)
        finally:
            bar.close()
            self.store.finish_run(run_id, summary.as_dict())
        if (summary.added or summary.versioned) and self._chunk:
            self.sync_indexes()
        return summary

    def _ingest_item(self, item: ReadItem, run_id: str, summary: IngestSummary, bar) -> None:
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
                facts, chunks = self.derive(note)
                result = self.store.write_note(note, item.patient, facts, chunks)
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

    def sync_indexes(self) -> None:
        """Bring persisted retrieval indexes in line with the store (after ingest or deletion)."""
        try:
            retriever = self.retriever
        except ImportError:
            return
        retriever.sync()

    def delete_patient(self, patient_id: str) -> None:
        self.store.delete_patient(patient_id)
        self.sync_indexes()

    def delete_note(self, note_id: str) -> None:
        self.store.delete_note(note_id)
        self.sync_indexes()

    def reextract(self, patient_id: str | None = None, progress: bool = True) -> int:
        """Re-run extractors and chunking on stored notes (after an extractor upgrade)."""
        pids = [patient_id] if patient_id else [p.patient_id for p in self.store.patients()]
        n = 0
        for pid in pids:
            for note in tqdm(self.store.notes(pid), desc=f"re-extract {pid}", disable=not progress):
                facts, chunks = self.derive(note)
                self.store.replace_derived(note.note_id, facts, chunks if self._chunk else None)
                n += 1
        self.sync_indexes()
        return n
