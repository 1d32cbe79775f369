"""LLMClient against a tiny local http.server stub: retries, errors, request shape, factory, CLI (no model)."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import typer
from typer.testing import CliRunner

from agent.llm import ContextLengthError, LLMClient, LLMRequestError, estimate_tokens, make_llm
from agent.llm.client import normalize_base_url
from agent.llm.commands import register, vllm_command
from clinqa.errors import LLMUnavailableError


class Stub:
    """An OpenAI-compatible stub whose replies are scripted: a list of (status, body) popped per chat request."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict]] = []
        self.owned_by = "stub"
        self.requests: list[tuple[str, str, dict, dict]] = []  # (method, path, headers, json body)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep pytest output clean
                pass

            def _reply(self, status: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                stub.requests.append(("GET", self.path, dict(self.headers), {}))
                if self.path == "/v1/models":
                    self._reply(200, {"object": "list", "data": [{"id": "stub-model", "max_model_len": 4096,
                                                                   "owned_by": stub.owned_by}]})
                else:
                    self._reply(404, {"error": {"message": "no such route"}})

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                stub.requests.append(("POST", self.path, dict(self.headers), body))
                if self.path == "/v1/chat/completions" and stub.script:
                    self._reply(*stub.script.pop(0))
                else:
                    self._reply(404, {"error": {"message": "no such route"}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def chat_posts(self):
        return [r for r in self.requests if r[1] == "/v1/chat/completions"]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(content: str, prompt_tokens=12, completion_tokens=5, finish="stop") -> dict:
    return {
        "id": "x", "object": "chat.completion", "model": "stub-model",
        "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
    }


@pytest.fixture
def stub():
    s = Stub()
    yield s
    s.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MSG = [{"role": "user", "content": "hi"}]
SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def test_normalize_base_url():
    assert normalize_base_url("http://gpu-host:8000") == "http://gpu-host:8000/v1"
    assert normalize_base_url("http://gpu-host:8000/v1/") == "http://gpu-host:8000/v1"
    assert normalize_base_url("https://gw.example/openai/v1") == "https://gw.example/openai/v1"
    with pytest.raises(LLMUnavailableError, match="bad LLM base URL"):
        normalize_base_url("gpu-host:8000")


def test_server_down_raises_unavailable_naming_the_url():
    url = f"http://127.0.0.1:{closed_port()}/v1"
    client = LLMClient(url, model="m", max_retries=2, backoff_s=0.01)
    t0 = time.perf_counter()
    with pytest.raises(LLMUnavailableError) as e:
        client.chat(MSG)
    assert url in str(e.value) and "after 3 attempts" in str(e.value)
    assert time.perf_counter() - t0 < 5


def test_retries_once_after_503_then_succeeds(stub):
    stub.script = [(503, {"error": {"message": "loading model"}}), (200, completion('{"a": 3}'))]
    client = LLMClient(stub.url, model="stub-model", max_retries=2, backoff_s=0.01)
    r = client.chat(MSG, json_schema=SCHEMA, seed=7)
    assert len(stub.chat_posts()) == 2
    assert r.parsed == {"a": 3} and r.text == '{"a": 3}'
    assert (r.prompt_tokens, r.completion_tokens, r.model, r.finish_reason) == (12, 5, "stub-model", "stop")
    assert r.latency_s > 0
    body = stub.chat_posts()[-1][3]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert (body["seed"], body["temperature"], body["model"]) == (7, 0.0, "stub-model")


def test_persistent_5xx_gives_up_after_bounded_retries(stub):
    stub.script = [(500, {"error": {"message": "boom"}})] * 5
    client = LLMClient(stub.url, model="stub-model", max_retries=1, backoff_s=0.01)
    with pytest.raises(LLMUnavailableError, match=r"after 2 attempts \(HTTP 500"):
        client.chat(MSG)
    assert len(stub.chat_posts()) == 2


def test_4xx_is_not_retried_and_context_overflow_is_typed(stub):
    llama_overflow = {"error": {"code": 400, "type": "exceed_context_size_error",
                                "message": "request (5030 tokens) exceeds the available context size (4096 tokens)"}}
    vllm_overflow = {"object": "error", "message": "This model's maximum context length is 4096 tokens.", "code": 400}
    stub.script = [(400, llama_overflow), (400, vllm_overflow), (400, {"error": {"message": "bad schema"}})]
    client = LLMClient(stub.url, model="stub-model", backoff_s=0.01)
    with pytest.raises(ContextLengthError, match="exceeds the available context size"):
        client.chat(MSG)
    with pytest.raises(ContextLengthError, match="maximum context length"):
        client.chat(MSG)
    with pytest.raises(LLMRequestError, match="bad schema") as e:
        client.chat(MSG)
    assert not isinstance(e.value, ContextLengthError) and e.value.status == 400
    assert len(stub.chat_posts()) == 3


def test_unparseable_or_truncated_json_gives_parsed_none(stub):
    stub.script = [(200, completion('{"a": 1', finish="length")), (200, completion("plain words"))]
    client = LLMClient(stub.url, model="stub-model")
    r = client.chat(MSG, json_schema=SCHEMA)
    assert r.parsed is None and r.truncated
    r = client.chat(MSG)  # no schema requested: never parsed
    assert r.parsed is None and r.text == "plain words"


def test_model_and_context_come_from_the_server_when_not_configured(stub):
    stub.script = [(200, completion("ok"))]
    client = LLMClient(stub.url)  # no model: asks /v1/models, like the vLLM path in production
    assert client.context_tokens == 4096
    client.chat(MSG)
    assert stub.chat_posts()[0][3]["model"] == "stub-model"


def test_count_tokens_falls_back_to_estimate_without_tokenize(stub):
    client = LLMClient(stub.url, model="stub-model")
    text = "Metoprolol 25 mg PO BID was started on 2023-03-01."
    assert client.count_tokens(text) == estimate_tokens(text) > 0
    assert estimate_tokens("") == 0


def test_make_llm_openai_uses_env_and_sends_api_key(stub, monkeypatch):
    monkeypatch.setenv("CLINQA_LLM_BASE_URL", stub.url + "/v1")
    monkeypatch.setenv("CLINQA_LLM_API_KEY", "sekret")
    monkeypatch.setenv("CLINQA_LLM_MODEL", "stub-model")
    stub.script = [(200, completion("ok"))]
    llm = make_llm("openai")
    try:
        assert llm.name == "openai:stub-model" and llm.chat(MSG).text == "ok"
        headers = {k.lower(): v for k, v in stub.chat_posts()[0][2].items()}
        assert headers["authorization"] == "Bearer sekret"
    finally:
        llm.close()


def test_make_llm_errors_are_clear(monkeypatch):
    monkeypatch.delenv("CLINQA_LLM_BASE_URL", raising=False)
    with pytest.raises(LLMUnavailableError, match="needs a server URL.*CLINQA_LLM_BASE_URL"):
        make_llm("openai")
    with pytest.raises(Exception, match="unknown LLM backend 'gpt'"):
        make_llm("gpt")


def _cli():
    app = typer.Typer()

    @app.callback()
    def _root() -> None:  # a group, as in clinqa.cli
        pass

    register(app)
    return app


def test_cli_vllm_command_enables_structured_output():
    argv = vllm_command("Qwen/Qwen2.5-7B-Instruct", max_model_len=16384)
    assert argv[:3] == ["vllm", "serve", "Qwen/Qwen2.5-7B-Instruct"]
    assert argv[argv.index("--max-model-len") + 1] == "16384"
    assert json.loads(argv[argv.index("--structured-outputs-config") + 1]) == {"backend": "xgrammar", "disable_any_whitespace": True}
    assert "--guided-decoding-backend" in vllm_command(legacy=True)
    out = CliRunner().invoke(_cli(), ["llm", "vllm-command", "--model", "meta-llama/Llama-3.1-8B-Instruct"])
    assert out.exit_code == 0, out.output
    assert "vllm serve meta-llama/Llama-3.1-8B-Instruct" in out.output
    assert "CLINQA_LLM_MODEL=llama-3.1-8b-instruct" in out.output


def test_cli_models_lists_packaged_models(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINQA_MODEL_CACHE", str(tmp_path))  # empty cache -> nothing cached
    out = CliRunner().invoke(_cli(), ["llm", "models"])
    assert out.exit_code == 0, out.output
    lines = [l for l in out.output.splitlines() if l.startswith("qwen")]
    assert [l.split()[0] for l in lines] == ["qwen2.5-0.5b", "qwen2.5-1.5b"]
    assert all(l.split()[1] in ("6/6", "22/22") and l.split()[3] == "no" for l in lines)
    assert "[default]" in lines[1]


def test_llamacpp_gets_compact_llguidance_grammar_with_fallback(stub):
    """llama.cpp servers get the schema as a compact-whitespace llguidance grammar; if refused, response_format."""
    stub.owned_by = "llamacpp"
    stub.script = [(200, completion('{"a": 1}')), (400, {"error": {"message": "llguidance not enabled"}}),
                   (200, completion('{"a": 2}'))]
    client = LLMClient(stub.url, model="stub-model", backoff_s=0.01)
    assert client.chat(MSG, json_schema=SCHEMA).parsed == {"a": 1}
    grammar = stub.chat_posts()[0][3]["grammar"]
    assert grammar.startswith("%llguidance {}\nstart: %json ")
    schema = json.loads(grammar.split("%json ", 1)[1])
    assert schema["x-guidance"]["whitespace_flexible"] is False and schema["properties"] == SCHEMA["properties"]
    assert "response_format" not in stub.chat_posts()[0][3]
    # a server that already accepted the grammar keeps getting it: its 400 is a real error
    with pytest.raises(LLMRequestError, match="llguidance not enabled"):
        client.chat(MSG, json_schema=SCHEMA)

    stub.script = [(400, {"error": {"message": "llguidance not enabled"}}), (200, completion('{"a": 3}'))]
    fresh = LLMClient(stub.url, model="stub-model", backoff_s=0.01)
    assert fresh.chat(MSG, json_schema=SCHEMA).parsed == {"a": 3}
    last = stub.chat_posts()[-1][3]
    assert "grammar" not in last and last["response_format"]["json_schema"]["schema"] == SCHEMA


def test_cli_ping_reports_server_and_structured_reply(stub, monkeypatch):
    monkeypatch.delenv("CLINQA_LLM_API_KEY", raising=False)
    stub.script = [(200, completion('{"status": "ok", "n": 4}', prompt_tokens=30, completion_tokens=9))]
    out = CliRunner().invoke(_cli(), ["llm", "ping", "--base-url", stub.url])
    assert out.exit_code == 0, out.output
    assert f"ok: {stub.url}/v1 serves stub-model; context 4096 tokens" in out.output
    assert "parsed={'status': 'ok', 'n': 4} (30+9 tokens" in out.output
    assert stub.chat_posts()[0][3]["response_format"]["json_schema"]["schema"]["required"] == ["status", "n"]


def test_cli_ping_down_server_fails_with_the_url():
    url = f"http://127.0.0.1:{closed_port()}"
    out = CliRunner().invoke(_cli(), ["llm", "ping", "--base-url", url, "--no-generate"])
    assert out.exit_code != 0
    assert isinstance(out.exception, LLMUnavailableError) and f"{url}/v1" in str(out.exception)


def test_make_llm_request_timeout_from_env(stub, monkeypatch):
    from clinqa.errors import ClinqaError

    monkeypatch.setenv("CLINQA_LLM_BASE_URL", stub.url + "/v1")
    monkeypatch.setenv("CLINQA_LLM_TIMEOUT", "1200")
    llm = make_llm("openai")
    try:
        assert llm._http.timeout.read == 1200.0
    finally:
        llm.close()
    monkeypatch.setenv("CLINQA_LLM_TIMEOUT", "soon")
    with pytest.raises(ClinqaError, match="CLINQA_LLM_TIMEOUT must be a number"):
        make_llm("openai")
