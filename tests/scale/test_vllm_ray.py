"""`clinqa llm vllm-command --ray` and the client against a vLLM-shaped endpoint (no GPU, no Ray needed)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import typer
from typer.testing import CliRunner

from agent.llm import make_llm
from agent.llm.commands import register, vllm_command


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_vllm_command_ray_uses_the_ray_executor():
    argv = vllm_command("Qwen/Qwen2.5-72B-Instruct", tensor_parallel_size=4, ray=True, pipeline_parallel_size=2)
    assert argv[argv.index("--distributed-executor-backend") + 1] == "ray"
    assert argv[argv.index("--tensor-parallel-size") + 1] == "4"
    assert argv[argv.index("--pipeline-parallel-size") + 1] == "2"
    assert "--distributed-executor-backend" not in vllm_command()


def test_cli_vllm_command_ray_prints_cluster_steps_and_client_settings():
    r = CliRunner().invoke(_app(), ["llm", "vllm-command", "--ray", "--tp", "2", "--pp", "2"])
    assert r.exit_code == 0, r.output
    assert "--distributed-executor-backend ray" in r.output and "--pipeline-parallel-size 2" in r.output
    assert "ray start --head" in r.output and "tp x pp = 4 GPU(s)" in r.output
    assert "CLINQA_LLM_BACKEND=openai" in r.output and "Ray Serve LLM" in r.output
    r = CliRunner().invoke(_app(), ["llm", "vllm-command", "--pp", "2"])
    assert r.exit_code != 0 and "needs --ray" in str(r.exception)


class _VLLMStub:
    """What the clinqa client sees of `vllm serve` (any executor): /v1/models with max_model_len, chat completions."""

    def __init__(self, served: str):
        self.bodies: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _reply(self, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                self._reply({"object": "list", "data": [{"id": served, "object": "model", "owned_by": "vllm",
                                                          "max_model_len": 32768}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.bodies.append(body)
                self._reply({"id": "c", "object": "chat.completion", "model": served,
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": '{"status": "ok", "n": 4}'}}],
                             "usage": {"prompt_tokens": 20, "completion_tokens": 9}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def vllm_stub():
    argv = vllm_command("Qwen/Qwen2.5-72B-Instruct", ray=True)
    s = _VLLMStub(argv[argv.index("--served-model-name") + 1])
    yield s
    s.close()


def test_openai_backend_talks_to_the_served_name_the_ray_command_prints(vllm_stub):
    """The settings `vllm-command --ray` prints (backend openai, base URL, served name) drive the client."""
    llm = make_llm("openai", "qwen2.5-72b-instruct", base_url=vllm_stub.url, api_key="k")
    try:
        info = llm.health()
        assert info["models"] == ["qwen2.5-72b-instruct"] and info["context_tokens"] == 32768
        schema = {"type": "object", "properties": {"status": {"type": "string"}, "n": {"type": "integer"}},
                  "required": ["status", "n"]}
        r = llm.chat([{"role": "user", "content": "n = 2 + 2"}], json_schema=schema, max_tokens=16)
    finally:
        llm.close()
    assert r.parsed == {"status": "ok", "n": 4} and (r.prompt_tokens, r.completion_tokens) == (20, 9)
    body = vllm_stub.bodies[-1]
    assert body["model"] == "qwen2.5-72b-instruct"
    assert body["response_format"]["type"] == "json_schema" and body["response_format"]["json_schema"]["schema"] == schema
