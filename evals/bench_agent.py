"""Agent latency and prompt-size benchmark: p50/p95 seconds per multiple-choice question for each backend,
accuracy against the gold option, and prompt tokens per question for the stack versus the collapsed mode.

    python -m evals.bench_agent                                   # extractive only, sample patients
    python -m evals.bench_agent --backends extractive,local --model qwen2.5-0.5b --n 6 --collapsed
    python -m evals.bench_agent --full                            # with extractors + hybrid retrieval indexes

Prints figures; never a test.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "clinqa" / "samples" / "sample_patients.json"

# Used with --data builtin (or when the samples are missing): one short record, five-option questions with
# plausible distractors (same drug class, same lab with another value, negated finding), LongHealth JSON shape.
BUILTIN = {'patient_01': {'name': 'Built-in bench patient',
                'texts': {'text_0': 'Admission note\n'
                                    '\n'
                                    'Diagnoses:\n'
                                    'Community-acquired pneumonia of the right lower lobe.\n'
                                    '\n'
                                    'History:\n'
                                    'The patient presented on 03/02/2021 with fever up to 39.2 degrees Celsius and '
                                    'productive cough. No history of diabetes mellitus. Chest X-ray on 03/02/2021 '
                                    'showed a right lower lobe infiltrate.\n'
                                    '\n'
                                    'Therapy:\n'
                                    'We started ceftriaxone 2 g IV once daily on 03/02/2021. Paracetamol 1 g was '
                                    'given for fever.\n'
                                    '\n'
                                    'Labs:\n'
                                    'CRP 182 mg/l. HbA1c 5.4 %. Creatinine 0.9 mg/dl.\n',
                          'text_1': 'Discharge letter\n'
                                    '\n'
                                    'Course:\n'
                                    'The fever resolved within three days. Ceftriaxone was switched to oral '
                                    'amoxicillin 1 g three times daily on 03/06/2021. CRP fell to 24 mg/l.\n'
                                    '\n'
                                    'Medications at discharge:\n'
                                    'Amoxicillin 1 g three times daily for five more days.\n',
                          'text_2': 'Follow-up visit\n'
                                    '\n'
                                    'The patient had a fall at home on 04/17/2021. CT of the head on 04/18/2021 '
                                    'ruled out intracranial hemorrhage. She denies chest pain. Blood pressure '
                                    '128/76 mmHg.\n'},
                'text_dates': {'text_0': '2021-03-02', 'text_1': '2021-03-09', 'text_2': '2021-04-20'},
                'questions': [{'No': 1,
                               'question': 'Which antibiotic was started on admission?',
                               'answer_a': 'Ceftriaxone',
                               'answer_b': 'Vancomycin',
                               'answer_c': 'Meropenem',
                               'answer_d': 'Doxycycline',
                               'answer_e': 'Piperacillin/tazobactam',
                               'correct': 'Ceftriaxone'},
                              {'No': 2,
                               'question': 'What did the chest X-ray show?',
                               'answer_a': 'A left upper lobe mass',
                               'answer_b': 'A right lower lobe infiltrate',
                               'answer_c': 'Bilateral pleural effusions',
                               'answer_d': 'A pneumothorax',
                               'answer_e': 'Cardiomegaly',
                               'correct': 'A right lower lobe infiltrate'},
                              {'No': 3,
                               'question': 'What was the CRP on admission?',
                               'answer_a': '24 mg/l',
                               'answer_b': '82 mg/l',
                               'answer_c': '182 mg/l',
                               'answer_d': '12 mg/l',
                               'answer_e': '250 mg/l',
                               'correct': '182 mg/l'},
                              {'No': 4,
                               'question': 'What did the CT of the head show?',
                               'answer_a': 'A subdural hematoma',
                               'answer_b': 'An ischemic stroke',
                               'answer_c': 'No intracranial hemorrhage',
                               'answer_d': 'A skull fracture',
                               'answer_e': 'A brain tumor',
                               'correct': 'No intracranial hemorrhage'},
                              {'No': 5,
                               'question': 'Which antibiotic was the patient switched to?',
                               'answer_a': 'Ceftriaxone',
                               'answer_b': 'Amoxicillin',
                               'answer_c': 'Doxycycline',
                               'answer_d': 'Clarithromycin',
                               'answer_e': 'Levofloxacin',
                               'correct': 'Amoxicillin'}]}}


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q)) if xs else float("nan")


def run(args) -> None:
    from agent import ClinicalQA
    from clinqa.workspace import Workspace

    home = Path(tempfile.mkdtemp(prefix="bench_agent_"))
    if str(args.data) == "builtin" or not Path(args.data).is_file():
        if str(args.data) != "builtin":
            print(f"{args.data} not found: using the built-in record")
        args.data = home / "builtin.json"
        args.data.write_text(json.dumps(BUILTIN))
    ws = Workspace(home, extract=args.full, chunk=args.full)
    t0 = time.perf_counter()
    summary = ws.ingest([args.data], progress=False)
    print(f"data: {args.data} ({summary.added} notes, {len(summary.patients)} patients) ingest {time.perf_counter() - t0:.1f}s"
          f" full={args.full} store={ws.store.counts()}")
    questions = [q for q in ws.store.questions() if q.options]
    print(f"{len(questions)} multiple-choice questions")
    rows = []
    for backend in args.backends.split(","):
        modes = ["stack"] + (["collapsed"] if args.collapsed and backend != "extractive" else [])
        qs = questions if backend == "extractive" else questions[: args.n]
        llm = None
        if backend != "extractive":
            from agent.llm import make_llm

            t1 = time.perf_counter()
            llm = make_llm(backend=backend, model=args.model, base_url=args.base_url)
            print(f"{backend}: model {llm.model} ready in {time.perf_counter() - t1:.1f}s (context {llm.context_tokens})")
        for mode in modes:
            qa = ClinicalQA(ws, backend=backend, model=args.model, mode=mode, llm=llm)
            if qs:  # warm-up (embedder, graph, model load) outside the timings, on a prompt no question shares
                qa.ask(qs[0].patient_id, "Which medications are documented?", allow_abstain=True)
            lat, ptok, ctok, ctx, correct, verified, abstained = [], [], [], [], 0, 0, 0
            for q in qs:
                t1 = time.perf_counter()
                a = qa.ask(q.patient_id, q.text, q.options)
                lat.append(time.perf_counter() - t1)
                ptok.append(a.tokens.get("prompt", 0))
                ctok.append(a.tokens.get("completion", 0))
                ctx.append(a.context_tokens)
                correct += a.choice == q.correct_letter
                verified += a.verification.status == "verified"
                abstained += a.abstained
                if args.verbose:
                    print(f"  {q.patient_id} Q{q.question_id} {a.kind:9s} -> {a.choice} (gold {q.correct_letter}) "
                          f"{a.verification.status} {lat[-1]:.2f}s prompt={ptok[-1]} ctx={ctx[-1]}")
            rows.append((backend, mode, len(qs), _pct(lat, 50), _pct(lat, 95), correct, verified, abstained,
                         statistics.mean(ptok) if ptok else 0, statistics.mean(ctok) if ctok else 0,
                         statistics.mean(ctx) if ctx else 0))
        if llm is not None:
            llm.close()
    print()
    print(f"{'backend':<11}{'mode':<10}{'n':>4}{'p50 s':>9}{'p95 s':>9}{'correct':>9}{'verified':>9}{'abstain':>8}"
          f"{'prompt tok/q':>14}{'compl tok/q':>12}{'context tok/q':>15}")
    for b, m, n, p50, p95, c, v, ab, pt, ct, cx in rows:
        print(f"{b:<11}{m:<10}{n:>4}{p50:>9.2f}{p95:>9.2f}{c:>6}/{n:<2}{v:>7}/{n:<2}{ab:>6}  {pt:>12.0f}{ct:>12.0f}{cx:>15.0f}")
    print("prompt tok/q: prompt tokens of the reasoner's calls (stack: one call over the selected evidence, a "
          "second one when the answer is retried; cached prefix tokens included); context tok/q: size of the "
          "assembled context (stack) or of the raw notes truncated to the model's window (collapsed). Latency is "
          "wall time on this machine, warm. Without a model: python -m evals.prompt_tokens.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="LongHealth-style JSON, or 'builtin'")
    ap.add_argument("--backends", default="extractive", help="comma list: extractive,local,openai")
    ap.add_argument("--model", default=None, help="local model name or GGUF path (default qwen2.5-1.5b)")
    ap.add_argument("--base-url", default=None)
    ap.add_argument("--n", type=int, default=6, help="questions per LLM backend (extractive: all)")
    ap.add_argument("--collapsed", action="store_true", help="also run the LLM on raw notes (collapsed mode)")
    ap.add_argument("--full", action="store_true", help="run extractors + chunking + hybrid indexes on ingest")
    ap.add_argument("-v", "--verbose", action="store_true")
    run(ap.parse_args())


if __name__ == "__main__":
    main()
