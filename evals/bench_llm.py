"""Benchmark: LLM load time, prompt-eval and generation speed for a ~2k-token clinical prompt.

    python -m evals.bench_llm [--model qwen2.5-0.5b|qwen2.5-1.5b|PATH.gguf] [--prompt-tokens 2000]
                              [--gen-tokens 128] [--repeat 2] [--n-ctx 16384] [--threads N]
    python -m evals.bench_llm --backend openai --base-url http://gpu-host:8000/v1   # a vLLM server

Local backend: starts the embedded llama.cpp server (threads = cores) and reads llama.cpp's own
per-request timings (prompt_per_second / predicted_per_second). Each repeat uses a different first
line so the prompt cache cannot serve it. On the shared dev box (2 cores, several people running
tests) figures vary a lot run to run: the load average is printed next to them.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time

DRUGS = ["metoprolol 25 mg PO BID", "furosemide 40 mg IV daily", "apixaban 5 mg PO BID", "lisinopril 10 mg daily",
         "atorvastatin 40 mg nightly", "metformin 500 mg BID", "pantoprazole 40 mg daily", "insulin glargine 20 units"]
PROBLEMS = ["atrial fibrillation", "heart failure with reduced ejection fraction", "type 2 diabetes mellitus",
            "chronic kidney disease stage 3", "community-acquired pneumonia", "hypertension", "anemia"]
LABS = [("hemoglobin", "g/dL", 8.0, 14.0), ("creatinine", "mg/dL", 0.7, 2.4), ("potassium", "mmol/L", 3.1, 5.6),
        ("sodium", "mmol/L", 129, 145), ("BNP", "pg/mL", 80, 1900)]


def clinical_text(rng: random.Random, n_sentences: int) -> str:
    """Plausible note sentences (drugs, problems, labs, dates): realistic token mix for the tokenizer."""
    out = []
    for i in range(n_sentences):
        kind = i % 4
        day = f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if kind == 0:
            out.append(f"On {day} the patient was started on {rng.choice(DRUGS)} for {rng.choice(PROBLEMS)}.")
        elif kind == 1:
            name, unit, lo, hi = rng.choice(LABS)
            out.append(f"{name.capitalize()} {rng.uniform(lo, hi):.1f} {unit} on {day}, compared with prior values.")
        elif kind == 2:
            out.append(f"No evidence of {rng.choice(PROBLEMS)}; denies chest pain, dyspnea or orthopnea.")
        else:
            out.append(f"Plan: continue {rng.choice(DRUGS)}, recheck labs in {rng.randint(2, 14)} days, follow up in clinic.")
    return " ".join(out)


def build_messages(llm, target_tokens: int, run: int) -> tuple[list[dict], int]:
    rng = random.Random(1234)
    system = "You are a clinical assistant. Answer only from the notes. Cite note dates."
    body = clinical_text(rng, 20)
    while llm.count_tokens(body) < target_tokens - 80:  # grow in chunks until ~target
        body += " " + clinical_text(rng, 10)
    user = (f"Run {run}-{random.random():.6f}\n"  # unique first line: no prompt-cache reuse between repeats
            f"NOTES:\n{body}\n\nQUESTION: Summarize every medication change with its date.")
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    return messages, llm.count_tokens(system + user)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="local", choices=["local", "openai"])
    ap.add_argument("--model", default=None, help="packaged name or GGUF path (default: qwen2.5-1.5b)")
    ap.add_argument("--base-url", default=None)
    ap.add_argument("--prompt-tokens", type=int, default=2000)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--n-ctx", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: all cores)")
    args = ap.parse_args(argv)

    from agent.llm.client import make_llm
    from agent.llm.local import cpu_count

    print(f"# bench_llm: backend={args.backend} cores={cpu_count()} load avg before={os.getloadavg()[0]:.2f} "
          "(shared dev box: other people's jobs compete for the same cores)")
    t0 = time.perf_counter()
    if args.backend == "local":
        from agent.llm.models import resolve_model

        name, path = resolve_model(args.model)
        t_prep = time.perf_counter() - t0
        if args.threads:
            os.environ["CLINQA_LLM_THREADS"] = str(args.threads)
        llm = make_llm("local", args.model, **({"n_ctx": args.n_ctx} if args.n_ctx else {}))
        server = llm.server
        print(f"model {name}: {path.name} ({path.stat().st_size / 2**20:.0f} MiB); n_ctx={server.n_ctx} "
              f"threads={server.n_threads}")
        import httpx

        meta = httpx.get(server.base_url + "/models").json()["data"][0].get("meta") or {}
        print(f"weights: {meta.get('ftype', '?')}, {meta.get('n_params', 0) / 1e9:.2f} B params")
        print(f"prepare (join/verify or size check): {t_prep:.2f} s")
        print(f"load (server start until /health ok): {server.load_time_s:.2f} s")
        extra = {"cache_prompt": False, "ignore_eos": True}
    else:
        llm = make_llm("openai", args.model, base_url=args.base_url)
        print(f"server {llm.base_url}: {llm.health()}")
        extra = {}

    pp, tg, lat = [], [], []
    try:
        llm.chat([{"role": "user", "content": "Say OK."}], max_tokens=2)  # warm-up (first-request allocations)
        for run in range(args.repeat):
            messages, n_est = build_messages(llm, args.prompt_tokens, run)
            r = llm.chat(messages, max_tokens=args.gen_tokens, temperature=0.0, extra_body=extra)
            t = r.timings
            if t.get("prompt_per_second") and t.get("predicted_per_second"):
                pp_s, tg_s = t["prompt_per_second"], t["predicted_per_second"]
                how = "server timings"
            else:  # no per-phase timings (vLLM): whole-request figure, a lower bound
                pp_s, tg_s = float("nan"), r.completion_tokens / r.latency_s
                how = "end-to-end"
            pp.append(pp_s)
            tg.append(tg_s)
            lat.append(r.latency_s)
            print(f"run {run + 1}: prompt {r.prompt_tokens} tok, generated {r.completion_tokens} tok, "
                  f"latency {r.latency_s:.1f} s | prompt eval {pp_s:.1f} tok/s | generation {tg_s:.1f} tok/s "
                  f"({how}); load avg {os.getloadavg()[0]:.2f}")
    finally:
        llm.close()
    med = statistics.median
    print(f"SUMMARY {llm.name}: load {getattr(getattr(llm, 'server', None), 'load_time_s', float('nan')):.2f} s | "
          f"prompt eval {med(pp):.1f} tok/s | generation {med(tg):.1f} tok/s | "
          f"~{args.prompt_tokens}-token prompt + {args.gen_tokens} tokens: {med(lat):.1f} s (median of {args.repeat})")
    print(f"# total wall time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
