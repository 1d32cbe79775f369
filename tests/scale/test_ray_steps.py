"""The steps of `--ray` ingest around Ray's transport, without a cluster: planning, a worker's failure."""
from __future__ import annotations

import pytest

from clinqa.workspace import Workspace


class _Exploding:
    """An extractor that fails on one note, as a worker's extractor bug would."""

    def __init__(self, real, bad_key: str):
        self.real, self.bad_key = real, bad_key

    def run(self, note):
        if note.source_key == self.bad_key:
            raise ValueError("unbalanced span table")
        return self.real.run(note)


def test_note_failing_on_a_worker_is_reported_like_a_local_failure(tmp_path, hashing):
    """A worker returns the exception; the writer re-raises it in the normal path: one line, the rest stored."""
    pytest.importorskip("ray")
    import pickle

    from graph_store.readers import read_path
    from scale.cluster import Cluster
    from scale.ingest import RayIngest, _derive_one

    src = tmp_path / "p1"
    src.mkdir()
    for day, text in (("01", "Started lisinopril 10 mg daily."), ("02", "Lisinopril increased to 20 mg."),
                      ("03", "No chest pain. Discharged home.")):
        (src / f"2023-03-{day}_note.txt").write_text(f"Progress note.\n{text}\n")
    ws = Workspace(tmp_path / "ws")
    run = RayIngest(ws, Cluster("local", cpus=2, gpus=0))
    items = list(read_path(src))
    notes, last = run._plan(items)
    assert len(notes) == 3 and last == [2]
    worker = _Exploding(ws.extractor, "2023-03-02_note.txt")
    for n in notes:  # what the actors send back, through the same pickling
        run._derived[(n.note_id, n.sha256)] = _derive_one(worker, ws.chunker, pickle.dumps(n))
    summary = ws.ingest_items(items, progress=False, derive=run._derive)
    assert summary.added == 2 and summary.exit_code == 3
    assert summary.failed == [f"{src / '2023-03-02_note.txt'}: processing failed (ValueError: unbalanced span table)"]
    assert [n.source_key for n in ws.store.notes("p1")] == ["2023-03-01_note.txt", "2023-03-03_note.txt"]
