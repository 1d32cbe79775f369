"""Benchmark: graph build time and memory for a synthetic 50-note patient.

    python -m evals.bench_graph [--notes 50] [--repeat 5]

Generates the notes and their facts here (no extractor), writes them into a
temporary PatientStore, then times ``PatientGraphs.model()`` cold (store read +
resolution + copy-forward + events + intervals + networkx graph) and measures
the allocation peak with tracemalloc. Target: < 0.5 s per 50-note patient.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from clinqa.records import Assertion, DateKind, Fact, FactType, Note, Relation
from graph_store.graph import PatientGraphs
from graph_store.store import PatientStore

PID = "bench-p1"
DRUGS = [
    ("Lasix", "furosemide"), ("metoprolol", "metoprolol"), ("Eliquis", "apixaban"), ("lisinopril", "lisinopril"),
    ("atorvastatin", "atorvastatin"), ("metformin", "metformin"), ("Protonix", "pantoprazole"),
    ("insulin glargine", "insulin glargine"), ("amlodipine", "amlodipine"), ("Keytruda", "pembrolizumab"),
    ("ondansetron", "ondansetron"), ("prednisone", "prednisone"),
]
PROBLEMS = [
    ("hypertension", "I10"), ("atrial fibrillation", "I48.91"), ("type 2 diabetes mellitus", "E11.9"),
    ("heart failure", "I50.9"), ("chronic kidney disease", "N18.9"), ("pneumonia", "J18.9"), ("nausea", "R11.0"),
    ("anemia", "D64.9"), ("lung adenocarcinoma", "C34.90"), ("pleural effusion", "J90"), ("fever", "R50.9"),
    ("rash", "R21"), ("hypotension", "I95.9"), ("dyspnea", "R06.00"),
]
LABS = [("hemoglobin", "g/dL", 9, 15), ("creatinine", "mg/dL", 0.6, 2.5), ("potassium", "mmol/L", 3.2, 5.4),
        ("sodium", "mmol/L", 130, 146), ("WBC", "10^9/L", 3, 14), ("hemoglobin A1c", "%", 5.5, 9.5)]
PROCS = ["CT chest", "echocardiogram", "thoracentesis", "bronchoscopy", "chest x-ray"]


class NoteBuilder:
    """Appends sentences and records facts with exact offsets."""

    def __init__(self, note_id: str):
        self.note_id, self.parts, self.pos, self.facts = note_id, [], 0, []

    def add(self, sentence: str, *specs: tuple[str, FactType, str, dict]) -> list[Fact]:
        out = []
        for surface, ftype, name, kw in specs:
            start = self.pos + sentence.index(surface)
            f = Fact(PID, self.note_id, start, start + len(surface), surface, ftype, name, **kw)
            self.facts.append(f)
            out.append(f)
        self.parts.append(sentence)
        self.pos += len(sentence)
        return out

    @property
    def text(self) -> str:
        return "".join(self.parts)


def synth_patient(n_notes: int, seed: int = 7) -> list[tuple[Note, list[Fact]]]:
    rng = random.Random(seed)
    day0 = dt.date(2020, 1, 6)
    med_list: dict[str, tuple[str, int]] = {}  # generic -> (surface, dose)
    out = []
    for i in range(n_notes):
        date = day0 + dt.timedelta(days=14 * i + rng.randint(0, 5))
        key = f"note{i:03d}.txt"
        nb = NoteBuilder(f"{PID}/{key}")
        nb.add(f"Progress note {i + 1}. Date {date.isoformat()}.\nHPI:\n")
        # new problems, some dated relative to the note, some negated
        for surface, code in rng.sample(PROBLEMS, 4):
            if rng.random() < 0.2:
                nb.add(f"Denies {surface}. ", (surface, FactType.PROBLEM, surface,
                                                {"codes": {"ICD10CM": code}, "assertion": Assertion.ABSENT}))
            elif rng.random() < 0.3:
                ago = rng.randint(1, 10)
                nb.add(f"Developed {surface} {ago} days ago. ", (surface, FactType.PROBLEM, surface, {
                    "codes": {"ICD10CM": code}, "date": date - dt.timedelta(days=ago),
                    "date_kind": DateKind.OCCURRED, "date_text": f"{ago} days ago"}))
            else:
                nb.add(f"Assessment includes {surface}, stable. ", (surface, FactType.PROBLEM, surface,
                                                                     {"codes": {"ICD10CM": code}}))
        # medication changes (start / dose change / stop with adverse event)
        for surface, generic in rng.sample(DRUGS, 3):
            if generic not in med_list:
                dose = rng.choice([5, 10, 20, 40])
                med_list[generic] = (surface, dose)
                (drug,) = nb.add(f"Started {surface} {dose} mg daily. ", (surface, FactType.DRUG, generic, {
                    "attributes": {"dose": dose, "unit": "mg", "frequency": "daily", "change": "started"}}))
            elif rng.random() < 0.5:
                dose = med_list[generic][1] * 2
                med_list[generic] = (surface, dose)
                nb.add(f"{surface} increased to {dose} mg daily. ", (surface, FactType.DRUG, generic, {
                    "attributes": {"dose": dose, "unit": "mg", "frequency": "daily", "change": "increased"}}))
            else:
                med_list.pop(generic)
                ae = rng.choice(["rash", "nausea", "hypotension"])
                drug, aef = nb.add(f"{surface} stopped because of {ae}. ", (surface, FactType.DRUG, generic, {
                    "attributes": {"change": "stopped"}}), (ae, FactType.PROBLEM, ae, {}))
                aef.relations.append(Relation("adverse_event_of", drug.fact_id))
        nb.add("\nLabs:\n")
        for name, unit, lo, hi in rng.sample(LABS, 4):
            value = round(rng.uniform(lo, hi), 1)
            nb.add(f"{name} {value} {unit}\n", (name, FactType.LAB, name.lower(), {
                "attributes": {"value": value, "unit": unit, "abnormal": None}}))
        if rng.random() < 0.4:
            p = rng.choice(PROCS)
            nb.add(f"{p} performed today.\n", (p, FactType.PROCEDURE, p.lower(), {}))
        # the copy-forward medication list: same lines carried into every note
        nb.add("\nMedications:\n")
        for generic, (surface, dose) in sorted(med_list.items()):
            nb.add(f"{surface} {dose} mg daily\n", (surface, FactType.DRUG, generic, {
                "attributes": {"dose": dose, "unit": "mg", "frequency": "daily"}}))
        nb.add("\nPast medical history: hypertension. Plan: follow up in two weeks.\n",
               ("hypertension", FactType.PROBLEM, "hypertension", {"codes": {"ICD10CM": "I10"}, "historical": True}))
        note = Note(PID, key, nb.text, note_date=date, note_type="progress_note", note_id=nb.note_id)
        out.append((note, nb.facts))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    patient = synth_patient(args.notes)
    with tempfile.TemporaryDirectory() as tmp:
        store = PatientStore(Path(tmp) / "bench.sqlite")
        t = time.perf_counter()
        for note, facts in patient:
            store.write_note(note, facts=facts)
        write_s = time.perf_counter() - t
        pg = PatientGraphs(store)
        times = []
        for _ in range(args.repeat):
            pg.invalidate()
            t = time.perf_counter()
            model = pg.model(PID)
            times.append(time.perf_counter() - t)
        pg.invalidate()
        tracemalloc.start()
        model = pg.model(PID)
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        t = time.perf_counter()
        for _ in range(100):
            pg.model(PID)
        cached_ms = (time.perf_counter() - t) * 10
        t = time.perf_counter()
        pg.timeline(PID)
        pg.active_medications(PID)
        pg.order(PID, ["hypertension", "pneumonia", "Lasix", "warfarin"])
        pg.lab_series(PID, "creatinine")
        query_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        notes_only = store.notes(PID)
        facts_only = store.facts(PID)
        read_s = time.perf_counter() - t
        store.close()
    s = model.stats
    n_chars = sum(len(n.text) for n, _ in patient)
    print(f"synthetic patient: {s['notes']} notes, {n_chars} chars, {s['facts']} facts "
          f"({len(facts_only)} read back from {len(notes_only)} notes)")
    print(f"graph: {s['nodes']} nodes, {s['edges']} edges; {s['concepts']} concepts, {s['events']} events, "
          f"{s['copy_forward']} copy-forward repeats, {s['conflicts']} conflicts")
    print(f"store write (setup, not timed in build): {write_s:.3f} s")
    print(f"graph build, cold, incl. store read ({args.repeat} runs): median {statistics.median(times):.3f} s, "
          f"min {min(times):.3f} s, max {max(times):.3f} s  (target < 0.5 s: "
          f"{'PASS' if statistics.median(times) < 0.5 else 'FAIL'})")
    print(f"  of which store read (notes + facts JSON): {read_s:.3f} s")
    print(f"cached model lookup (generation check): {cached_ms:.2f} ms; 4 queries: {query_ms:.2f} ms")
    print(f"memory: tracemalloc during one build: peak {peak / 2**20:.1f} MiB, retained {current / 2**20:.1f} MiB; "
          f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
