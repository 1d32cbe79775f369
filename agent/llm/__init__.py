"""LLM backends: one OpenAI-compatible client for vLLM (production) and an embedded llama.cpp server (CPU).

    from agent.llm import make_llm
    llm = make_llm("local", "qwen2.5-0.5b")          # or make_llm("openai", base_url="http://gpu:8000/v1")
    r = llm.chat([{"role": "user", "content": "..."}], json_schema={...})
    r.parsed, r.prompt_tokens, r.completion_tokens, r.latency_s
"""
from agent.llm.client import (
    LLM,
    ContextLengthError,
    LLMClient,
    LLMRequestError,
    LLMResult,
    LocalLLM,
    estimate_tokens,
    make_llm,
)
from agent.llm.models import DEFAULT_MODEL, FAST_MODEL, PACKAGED_MODELS, PackagedModel, resolve_model

__all__ = [
    "LLM",
    "LLMClient",
    "LLMResult",
    "LLMRequestError",
    "ContextLengthError",
    "LocalLLM",
    "make_llm",
    "estimate_tokens",
    "resolve_model",
    "PACKAGED_MODELS",
    "PackagedModel",
    "DEFAULT_MODEL",
    "FAST_MODEL",
]
