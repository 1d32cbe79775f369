"""The embedded llama.cpp server with the real packaged 0.5B model (slow: loads a model).

Kept few and short (max_tokens small): the CPU is shared.
"""
from __future__ import annotations

import pytest

from agent.llm import ContextLengthError, LLMClient, make_llm
from agent.llm.local import LocalLlamaServer, get_server
from clinqa.errors import LLMUnavailableError

pytestmark = pytest.mark.slow

MODEL = "qwen2.5-0.5b"

# A schema the model would never produce unprompted: made-up key names, an enum of odd codes, an int range.
SCHEMA = {
    "type": "object",
    "properties": {
        "xq_code": {"type": "string", "enum": ["ZETA-7", "KAPPA-2"]},
        "count": {"type": "integer", "minimum": 3, "maximum": 9},
        "flags": {"type": "array", "items": {"type": "boolean"}, "maxItems": 2},
    },
    "required": ["xq_code", "count", "flags"],
    "additionalProperties": False,
}
PROMPT = [{"role": "user", "content": "Tell me a short story about a cat."}]  # says nothing about JSON


@pytest.fixture(scope="module")
def local_llm():
    llm = make_llm("local", MODEL)
    yield llm
    llm.close()


def _conforms(obj) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(obj, SCHEMA)


def test_json_schema_output_parses_and_conforms(local_llm):
    r = local_llm.chat(PROMPT, json_schema=SCHEMA, max_tokens=64)
    assert r.parsed is not None, r.text
    _conforms(r.parsed)
    assert r.prompt_tokens > 0 and r.completion_tokens > 0 and r.latency_s > 0
    assert r.model == MODEL and r.finish_reason == "stop"
    assert local_llm.name == f"local:{MODEL}" and local_llm.context_tokens == 16384


# Flat object (no arrays): llama.cpp's response_format grammar lets the 0.5B model pad arrays with blanks.
FLAT = {
    "type": "object",
    "properties": {"xq_code": {"type": "string", "enum": ["ZETA-7", "KAPPA-2"]},
                   "count": {"type": "integer", "minimum": 3, "maximum": 9}},
    "required": ["xq_code", "count"],
    "additionalProperties": False,
}


def test_openai_backend_path_against_the_local_server(local_llm):
    """The vLLM code path (openai backend, model discovered from /v1/models, standard response_format)."""
    server = local_llm.server
    remote = make_llm("openai", None, base_url=server.root_url, json_mode="response_format")  # URL without /v1
    try:
        assert isinstance(remote, LLMClient) and remote.base_url == server.base_url
        info = remote.health()
        assert info["model"] == MODEL and info["context_tokens"] == server.n_ctx
        assert remote.server_kind == "llamacpp"
        r = remote.chat(PROMPT, json_schema=FLAT, max_tokens=48)
        assert r.parsed is not None, r.text
        pytest.importorskip("jsonschema").validate(r.parsed, FLAT)
        assert r.prompt_tokens > 0 and r.completion_tokens > 0
        text = "Patient on metoprolol 25 mg PO BID; creatinine 1.4 mg/dL."
        n = remote.count_tokens(text)
        assert n == local_llm.count_tokens(text) and 5 < n < len(text)  # real tokenizer, not the estimate
    finally:
        remote.close()


def test_one_warm_server_per_model_per_process(local_llm):
    again = make_llm("local", MODEL)
    again.close()  # closing a client keeps the shared server running
    assert again.server is local_llm.server is get_server(MODEL)
    assert local_llm.server.running and local_llm.server.load_time_s > 0
    assert local_llm.chat(PROMPT, max_tokens=4).completion_tokens > 0


def test_stop_frees_the_port_and_context_overflow_is_typed():
    with LocalLlamaServer(MODEL, n_ctx=1024) as server:
        client = LLMClient(server.base_url, model=MODEL, max_retries=0)
        assert client.context_tokens == 1024
        with pytest.raises(ContextLengthError, match="context"):
            client.chat([{"role": "user", "content": "word " * 3000}], max_tokens=4)
        url = server.base_url
    assert not server.running
    with pytest.raises(LLMUnavailableError, match=url.replace(".", r"\.")):
        LLMClient(url, model=MODEL, max_retries=0).chat(PROMPT, max_tokens=4)
