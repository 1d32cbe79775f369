"""Retriever over persisted per-patient indexes (fast: model-free hashing embedder, real FAISS + bm25s)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from clinqa.errors import InputError, UnknownPatientError
from clinqa.records import Note, Patient
from clinqa.workspace import Workspace
from graph_store.readers import ReadItem
from retrieval import Retriever, rrf_fuse
from retrieval.dense import DenseIndex
from retrieval.embedding import HashingEmbedder
from retrieval.expansion import QueryExpander

DATA = Path(__file__).parent / "data" / "longhealth_mini.json"


class CountingEmbedder(HashingEmbedder):
    """Hashing embedder that records how many texts it was asked to encode."""

    def __init__(self):
        super().__init__()
        self.encoded: list[str] = []

    def encode(self, texts, progress=None):
        self.encoded += list(texts)
        return super().encode(texts, progress)


def _ws(home: Path, embedder=None) -> Workspace:
    ws = Workspace(home, extract=False)
    ws._retriever = Retriever(ws, embedder=embedder or HashingEmbedder())
    return ws


def _item(pid: str, notes: dict[str, tuple[str, dt.date]]) -> ReadItem:
    return ReadItem(Patient(pid), [Note(pid, key, text, note_date=d) for key, (text, d) in notes.items()])


A_NOTES = {
    "n1": ("History:\nType 2 diabetes since 2012. Hypertension.\n\nMedications:\nMetformin 1000 mg BID. Lasix 40 mg daily.",
           dt.date(2020, 1, 10)),
    "n2": ("Assessment:\nZebrafinch syndrome suspected. Creatinine 1.9 mg/dL.\n\nPlan:\nRenal ultrasound next week.",
           dt.date(2021, 6, 1)),
}
B_NOTES = {
    "n1": ("History:\nQuokkaplasia of the left knee. Hypertension.\n\nMedications:\nFurosemide 20 mg daily. Metformin 500 mg.",
           dt.date(2019, 3, 3)),
}


@pytest.fixture
def ws(tmp_path):
    w = _ws(tmp_path / "ws")
    w.ingest_items([_item("A", A_NOTES), _item("B", B_NOTES)], progress=False)
    yield w
    w.store.close()


def _patient_dir(ws, pid):
    man = json.loads((ws.home / "index" / "manifest.json").read_text())
    return ws.home / "index" / "patients" / man["patients"][pid]["dir"], man


def test_hits_carry_exact_provenance(ws):
    for mode in ("dense", "bm25", "hybrid"):
        hits = ws.retriever.retrieve("A", "metformin dose", k=3, mode=mode)
        assert hits and [h.rank for h in hits] == list(range(1, len(hits) + 1))
        for h in hits:
            note = ws.store.note(h.note_id)
            assert note.text[h.start : h.end] == h.text
            assert h.note_date == note.note_date and h.mode == mode
        assert "Metformin 1000 mg" in hits[0].text
        assert hits[0].section == "medications"


def test_no_cross_patient_hits(ws):
    # B's unique words must never surface A's... and A's never B's, in any mode, whatever k.
    for pid, own_word, other_word in (("A", "zebrafinch", "quokkaplasia"), ("B", "quokkaplasia", "zebrafinch")):
        for mode in ("dense", "bm25", "hybrid"):
            for q in (other_word, f"{other_word} knee", "hypertension metformin", "furosemide lasix"):
                hits = ws.retriever.retrieve(pid, q, k=50, mode=mode)
                assert all(h.patient_id == pid for h in hits)
                assert all(other_word not in h.text.lower() for h in hits)
            own = ws.retriever.retrieve(pid, own_word, k=1, mode="bm25")
            assert own and own_word in own[0].text.lower()
    n_a = len(ws.store.chunks("A"))
    assert len(ws.retriever.retrieve("A", "hypertension", k=100, mode="dense")) == n_a


def test_index_survives_restart_without_reencoding(ws, tmp_path):
    before = [(h.chunk.chunk_id, round(h.score, 6)) for h in ws.retriever.retrieve("A", "creatinine kidney", k=4)]
    home = ws.home
    ws.store.close()
    counting = CountingEmbedder()
    ws2 = _ws(home, counting)
    assert ws2.retriever.sync() == {"patients_updated": 0, "patients_removed": 0, "chunks_added": 0, "chunks_removed": 0}
    after = [(h.chunk.chunk_id, round(h.score, 6)) for h in ws2.retriever.retrieve("A", "creatinine kidney", k=4)]
    assert after == before
    assert counting.encoded == ["creatinine kidney"]  # only the query was encoded
    ws2.store.close()


def test_deleting_a_note_removes_its_chunks_from_both_indexes(ws):
    note_id = "A/n2"
    gone = {c.chunk_id for c in ws.store.chunks("A") if c.note_id == note_id}
    assert gone
    ws.delete_note(note_id)
    pdir, man = _patient_dir(ws, "A")
    remaining = {c.chunk_id for c in ws.store.chunks("A")}
    assert man["patients"]["A"]["n"] == len(remaining)
    assert set(json.loads((pdir / "ids.json").read_text())) == remaining
    assert set(json.loads((pdir / "bm25" / "chunk_ids.json").read_text())) == remaining
    assert DenseIndex.load(pdir / "dense.faiss").ntotal == len(remaining)
    for mode in ("dense", "bm25", "hybrid"):
        hits = ws.retriever.retrieve("A", "zebrafinch syndrome creatinine", k=20, mode=mode)
        assert all(h.note_id != note_id for h in hits)
        assert not gone & {h.chunk.chunk_id for h in hits}


def test_deleting_a_patient_removes_their_index(ws):
    pdir, _ = _patient_dir(ws, "B")
    ws.delete_patient("B")
    assert not pdir.exists()
    assert "B" not in json.loads((ws.home / "index" / "manifest.json").read_text())["patients"]
    with pytest.raises(UnknownPatientError):
        ws.retriever.retrieve("B", "furosemide")


def test_incremental_update_touches_only_the_changed_patient(ws):
    counting = CountingEmbedder()
    ws._retriever = Retriever(ws, embedder=counting)
    b_dir, _ = _patient_dir(ws, "B")
    b_mtime = (b_dir / "dense.faiss").stat().st_mtime_ns
    n3 = "Progress note:\nPatient reports new onset atrial fibrillation. Started apixaban 5 mg BID."
    ws.ingest_items([_item("A", {"n3": (n3, dt.date(2022, 2, 2))})], progress=False)
    new = [c for c in ws.store.chunks("A") if c.note_id == "A/n3"]
    assert sorted(counting.encoded) == sorted(c.text for c in new)  # only the new chunks were embedded
    assert (b_dir / "dense.faiss").stat().st_mtime_ns == b_mtime
    hits = ws.retriever.retrieve("A", "apixaban", k=1, mode="bm25")
    assert hits and hits[0].note_id == "A/n3"


def test_store_changes_behind_the_retrievers_back_are_picked_up(ws):
    other = Workspace(ws.home, extract=False, chunk=False)  # e.g. another process deleting without syncing
    other.store.delete_note("A/n1")
    other.store.close()
    for mode in ("dense", "bm25", "hybrid"):
        hits = ws.retriever.retrieve("A", "metformin lasix", k=10, mode=mode)
        assert all(h.note_id != "A/n1" for h in hits)


def test_section_and_date_filters(ws):
    hits = ws.retriever.retrieve("A", "metformin creatinine ultrasound", k=10, sections=["plan"])
    assert hits and all(h.section == "plan" for h in hits)
    hits = ws.retriever.retrieve("A", "metformin creatinine", k=10, date_range=("2021-01-01", None))
    assert hits and all(h.note_date >= dt.date(2021, 1, 1) for h in hits)
    assert ws.retriever.retrieve("A", "metformin", date_range=(dt.date(2030, 1, 1), None)) == []


def test_clear_errors(ws):
    with pytest.raises(InputError, match="empty query"):
        ws.retriever.retrieve("A", "   ")
    with pytest.raises(UnknownPatientError, match="unknown patient 'nobody'"):
        ws.retriever.retrieve("nobody", "metformin")
    with pytest.raises(InputError, match="mode"):
        ws.retriever.retrieve("A", "metformin", mode="semantic")
    with pytest.raises(InputError, match="k must be"):
        ws.retriever.retrieve("A", "metformin", k=0)


def test_embedder_change_rebuilds_dense_index(ws):
    class OtherHashing(HashingEmbedder):
        def __init__(self):
            super().__init__(dim=64)
            self.model_name_or_path = "hashing-64"

    ws._retriever = Retriever(ws, embedder=OtherHashing())
    stats = ws.retriever.sync()
    assert stats["patients_updated"] == 2
    pdir, man = _patient_dir(ws, "A")
    assert man["embedder"] == "hashing-64" and man["dim"] == 64
    assert DenseIndex.load(pdir / "dense.faiss").dim == 64
    assert ws.retriever.retrieve("A", "metformin", mode="dense")


def test_query_expansion_brand_generic_and_abbreviations(ws):
    ex = QueryExpander()
    assert "furosemide" in ex("Is she on Lasix?")
    assert "hypertension" in ex("history of HTN")
    assert "acute lymphoblastic leukemia" not in ex("list all medications")
    assert "acute lymphoblastic leukemia" in ex("ALL relapse")
    # B's note says furosemide; the query uses the brand name
    hits = ws.retriever.retrieve("B", "Lasix", k=1, mode="bm25")
    assert hits and "Furosemide" in hits[0].text
    ws._retriever = Retriever(ws, embedder=HashingEmbedder(), expander=None)
    assert ws.retriever.retrieve("B", "Lasix", k=1, mode="bm25") == []


def test_rrf_fusion_rewards_agreement():
    fused = rrf_fuse([["a", "b", "c"], ["b", "d", "e"]], k0=60)
    order = [c for c, _ in fused]
    assert order[:2] == ["b", "a"] and set(order) == {"a", "b", "c", "d", "e"}
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_ivf_index_add_remove_persist(tmp_path):
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(3000, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(10, 3010, dtype=np.int64)
    ivf = DenseIndex(32, ivf_min=1000, nprobe=32)
    ivf.build(ids, vecs)
    assert ivf.kind == "ivf"
    flat = DenseIndex(32, kind="flat")
    flat.build(ids, vecs)
    assert flat.kind == "flat"
    agree = sum(int(ivf.search(vecs[i], 1)[1][0] == flat.search(vecs[i], 1)[1][0]) for i in range(0, 3000, 60))
    assert agree >= 45  # of 50 self-queries
    ivf.remove(ids[:100])
    assert ivf.ntotal == 2900 and ids[0] not in set(ivf.search(vecs[0], 50)[1].tolist())
    ivf.save(tmp_path / "d.faiss")
    again = DenseIndex.load(tmp_path / "d.faiss", nprobe=32)
    assert again.kind == "ivf" and again.ntotal == 2900
    assert again.search(vecs[500], 1)[1][0] == ids[500]


def test_longhealth_fixture_offsets_after_ingest(tmp_path):
    w = _ws(tmp_path / "lh")
    w.ingest([DATA], progress=False)
    chunks = w.store.chunks()
    assert len({c.patient_id for c in chunks}) == 3
    notes = {}
    for c in chunks:
        note = notes.setdefault(c.note_id, w.store.note(c.note_id))
        assert note.text[c.start : c.end] == c.text
    w.store.close()


def test_notes_stored_without_chunks_can_be_chunked_later(tmp_path):
    bare = Workspace(tmp_path / "bare", extract=False, chunk=False)  # like `clinqa ingest --no-extract`
    bare.ingest_items([_item("A", A_NOTES)], progress=False)
    assert bare.store.chunks("A") == []
    bare.store.close()
    w = _ws(tmp_path / "bare")
    assert w.retriever.retrieve("A", "metformin") == []
    assert w.retriever.chunk_missing() == 2
    assert w.retriever.chunk_missing() == 0
    hits = w.retriever.retrieve("A", "metformin", k=1, mode="bm25")
    assert hits and "Metformin" in hits[0].text
    w.store.close()


def test_copy_forward_passages_count_once(tmp_path):
    """A medication list carried into later notes must not fill the top-k with one piece of evidence."""
    meds = "Medications:\nMetformin 1000 mg twice daily. Ramipril 5 mg once daily.\n\n"
    notes = {f"n{i}": (f"Progress note {i}.\n\n" + meds + f"Assessment:\nStable visit number {i}.", dt.date(2020, 1, i + 1))
             for i in range(4)}
    notes["n9"] = ("Labs:\nHbA1c 8.1 % on metformin therapy.", dt.date(2020, 2, 1))
    w = _ws(tmp_path / "ws")
    w.ingest_items([_item("C", notes)], progress=False)
    hits = w.retriever.retrieve("C", "metformin", k=3, mode="bm25")
    texts = [" ".join(h.text.split()) for h in hits]
    assert len(set(texts)) == len(texts), texts  # no duplicate passage among the hits
    med_hit = next(h for h in hits if "Ramipril" in h.text)
    assert len(med_hit.copies) == 3  # the three other notes' copies are recorded, not returned
    assert any("HbA1c" in h.text for h in hits)  # the slot they would have taken goes to other evidence
    raw = w.retriever.retrieve("C", "metformin", k=3, mode="bm25", collapse_copies=False)
    assert sum("Ramipril" in h.text for h in raw) >= 2


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_per_option_retrieval_gives_every_option_its_evidence(tmp_path, mode):
    """One query with all options is pulled to the option the notes repeat most; per option, the single
    negated sentence about the answer option still reaches the top-k."""
    filler = "Colon adenocarcinoma with sigmoid wall thickening. Adenocarcinoma of the sigmoid colon confirmed. "
    notes = {f"n{i}": (f"Report {i}:\n" + filler * 2 + f"Sigmoid colon adenocarcinoma, visit {i}.", dt.date(2020, 1, i + 1))
             for i in range(8)}
    notes["n9"] = ("Findings:\nThere is no evidence of hepatic metastases.", dt.date(2020, 2, 1))
    w = _ws(tmp_path / "ws")
    w.ingest_items([_item("D", notes)], progress=False)
    options = ["sigmoid adenocarcinoma", "hepatic metastases", "colon wall thickening"]
    question = "Which of the following was ruled out?"
    blended = w.retriever.retrieve("D", " ".join([question, *options]), k=3, mode=mode, collapse_copies=False)
    per_option = w.retriever.retrieve("D", question, k=3, mode=mode, options=options, collapse_copies=False)
    assert len(blended) == 3
    assert any("hepatic" in h.text for h in per_option)  # the answer option's only evidence
    assert [h.rank for h in per_option] == [1, 2, 3]
    assert all(h.chunk.patient_id == "D" for h in per_option)
    # blank options are ignored: the call is the plain single-query retrieval
    plain = w.retriever.retrieve("D", question, k=3, mode=mode)
    assert [h.chunk.chunk_id for h in w.retriever.retrieve("D", question, k=3, mode=mode, options=["", " "])] == \
        [h.chunk.chunk_id for h in plain]
    w.store.close()


def test_notes_without_a_searchable_word_are_indexed(tmp_path):
    w = _ws(tmp_path / "ws")
    w.ingest_items([_item("S", {"a": ("a", dt.date(2020, 1, 1)), "b": ("No.", dt.date(2020, 1, 2))})], progress=False)
    assert w.retriever.retrieve("S", "no", k=2, mode="bm25") == []  # nothing to match, and no error
    assert [h.note_id for h in w.retriever.retrieve("S", "a", k=1, mode="dense")]
    w2 = _ws(w.home)  # reloads the persisted BM25 folder without a model
    assert w2.retriever.check() == []
    assert w2.retriever.retrieve("S", "anything", k=2, mode="hybrid") is not None
