"""One OpenAI-compatible chat client for vLLM (production) and the embedded llama.cpp server (here).

Plain httpx rather than the ``openai`` SDK: we need the same request on both
servers, explicit retry/timeout behaviour we can test, and the servers' own
extras (``/tokenize``, context size from ``/v1/models``) that the SDK hides.
Structured output uses the standard ``response_format={"type": "json_schema"}`` (vLLM,
xgrammar backend). Against llama.cpp the same schema goes as an llguidance grammar with
compact whitespace instead: llama.cpp's own schema->GBNF conversion allows runs of
whitespace, and small models then pad arrays with spaces until ``max_tokens`` (seen with
the 0.5B model: 64 tokens of blanks inside ``"flags": [ ]``).
"""
from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable
from urllib.parse import urlsplit

import httpx

from clinqa.errors import ClinqaError, LLMUnavailableError

log = logging.getLogger(__name__)

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}

DEFAULT_TIMEOUT_S = 300.0  # a 2k-token prompt plus a long answer on a shared 2-core CPU can take minutes
DEFAULT_MAX_RETRIES = 2
DEFAULT_CONTEXT_TOKENS = 32768
CHARS_PER_TOKEN = 3.5  # fallback estimate for clinical English with numbers (Qwen/Llama BPE)


class LLMRequestError(ClinqaError):
    """The server answered but refused the request (HTTP 4xx): bad schema, unknown model, ..."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ContextLengthError(LLMRequestError):
    """The prompt does not fit the server's context window; callers should shrink the evidence."""


@dataclass
class LLMResult:
    """One chat completion. ``parsed`` is the JSON object when a schema was requested and the output parsed."""

    text: str
    parsed: dict | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    model: str
    finish_reason: str | None = None
    timings: dict[str, float] = field(default_factory=dict)  # llama.cpp per-phase timings when available

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


@runtime_checkable
class LLM(Protocol):
    """What the agent needs from a model backend."""

    name: str

    @property
    def model(self) -> str: ...

    @property
    def context_tokens(self) -> int: ...

    def chat(
        self,
        messages: Sequence[Message],
        json_schema: dict | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        seed: int | None = 0,
    ) -> LLMResult: ...

    def count_tokens(self, text: str) -> int: ...

    def close(self) -> None: ...


def normalize_base_url(url: str) -> str:
    """'http://host:8000' -> 'http://host:8000/v1'; a URL that already has a path is kept as given."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LLMUnavailableError(f"bad LLM base URL {url!r}: expected e.g. http://gpu-host:8000/v1")
    return url if parts.path not in ("", "/") else url + "/v1"


def _server_root(base_url: str) -> str:
    """vLLM and llama.cpp serve /health and /tokenize next to /v1, not under it."""
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url


def _is_context_error(status: int, message: str) -> bool:
    m = message.lower()
    return status == 400 and (
        "exceed_context_size" in m or "context length" in m or "context size" in m or "maximum context" in m
    )


class LLMClient:
    """Chat completions against any OpenAI-compatible server (vLLM, llama.cpp, ...).

    Retries connection errors, HTTP 429 and 5xx ``max_retries`` times with
    exponential backoff; then raises ``LLMUnavailableError`` naming the URL.
    HTTP 4xx raises ``LLMRequestError`` (``ContextLengthError`` when the prompt is too long).
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float = 5.0,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_s: float = 0.5,
        context_tokens: int | None = None,
        name: str | None = None,
        server_kind: str | None = None,
        json_mode: str = "auto",
    ) -> None:
        """``json_mode``: "auto" (llguidance grammar on llama.cpp, response_format elsewhere),
        "response_format" (always the OpenAI field, i.e. exactly what vLLM gets) or "grammar"."""
        if json_mode not in ("auto", "response_format", "grammar"):
            raise ValueError(f"json_mode must be auto, response_format or grammar, not {json_mode!r}")
        self.json_mode = json_mode
        self.base_url = normalize_base_url(base_url)
        self.root_url = _server_root(self.base_url)
        self._model = model
        self.max_retries = max(0, max_retries)
        self.backoff_s = backoff_s
        self._context_tokens = context_tokens
        self._tokenize_ok: bool | None = None  # None = not tried yet
        self._server_kind = server_kind  # "llamacpp" | "vllm" | ...; from /v1/models owned_by when None
        self._grammar_ok: bool | None = None  # llama.cpp built with llguidance accepts our compact grammar
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s), headers=headers
        )
        self.name = name or f"openai:{model or self.base_url}"

    # -- transport ------------------------------------------------------------------------------
    def _request(self, method: str, url: str, json_body: dict | None = None) -> httpx.Response:
        last: str = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                r = self._http.request(method, url, json=json_body)
            except httpx.TimeoutException as e:
                # A read timeout means the server is busy generating: retrying would only double the wait.
                if isinstance(e, httpx.ConnectTimeout):
                    last = f"connect timeout: {e}"
                    continue
                raise LLMUnavailableError(
                    f"LLM server at {self.base_url} timed out after {self._http.timeout.read:.0f}s ({type(e).__name__})"
                ) from e
            except (httpx.TransportError,) as e:  # refused, reset, DNS, protocol errors
                last = f"{type(e).__name__}: {e}"
                log.debug("LLM %s %s failed (attempt %d): %s", method, url, attempt + 1, last)
                continue
            if r.status_code == 429 or r.status_code >= 500:
                last = f"HTTP {r.status_code}: {r.text[:300]}"
                log.debug("LLM %s %s -> %s (attempt %d)", method, url, r.status_code, attempt + 1)
                continue
            if r.status_code >= 400:
                msg = _error_message(r)
                cls = ContextLengthError if _is_context_error(r.status_code, msg) else LLMRequestError
                raise cls(f"LLM server at {self.base_url} rejected the request (HTTP {r.status_code}): {msg}", r.status_code)
            return r
        raise LLMUnavailableError(
            f"LLM server at {self.base_url} is unavailable after {self.max_retries + 1} attempts ({last}). "
            f"Is it running? Check with `clinqa llm ping --base-url {self.base_url}`."
        )

    # -- model metadata --------------------------------------------------------------------------
    def _models(self) -> list[dict]:
        data = self._request("GET", self.base_url + "/models").json()
        return list(data.get("data") or [])

    @property
    def model(self) -> str:
        """The served model id; asked from /v1/models when not configured (vLLM needs it to match)."""
        if self._model is None:
            models = self._models()
            if not models:
                raise LLMUnavailableError(f"LLM server at {self.base_url} serves no model")
            self._model = str(models[0]["id"])
            self._learn_context(models[0])
        return self._model

    def _learn_context(self, entry: dict) -> None:
        if self._server_kind is None:
            self._server_kind = str(entry.get("owned_by") or "unknown")
        if self._context_tokens is not None:
            return
        n = entry.get("max_model_len") or (entry.get("meta") or {}).get("n_ctx")  # vLLM / llama.cpp
        if isinstance(n, int) and n > 0:
            self._context_tokens = n

    @property
    def context_tokens(self) -> int:
        """The server's context window (prompt + completion) in tokens."""
        if self._context_tokens is None:
            try:
                models = self._models()
                want = self._model
                entry = next((m for m in models if want is None or m.get("id") == want), models[0] if models else {})
                self._learn_context(entry)
            except (LLMUnavailableError, LLMRequestError, ValueError):
                pass
            if self._context_tokens is None:
                self._context_tokens = DEFAULT_CONTEXT_TOKENS
        return self._context_tokens

    def health(self) -> dict[str, Any]:
        """Round trip to the server: {'url', 'model', 'context_tokens', 'latency_s'}; raises when down."""
        t0 = time.perf_counter()
        models = self._models()
        if not models:
            raise LLMUnavailableError(f"LLM server at {self.base_url} serves no model")
        if self._model is None:
            self._model = str(models[0]["id"])
        entry = next((m for m in models if m.get("id") == self._model), models[0])
        self._learn_context(entry)
        return {
            "url": self.base_url,
            "models": [m.get("id") for m in models],
            "model": self._model,
            "context_tokens": self.context_tokens,
            "latency_s": time.perf_counter() - t0,
        }

    @property
    def server_kind(self) -> str:
        """Who serves the model ("llamacpp", "vllm", ...), from /v1/models' owned_by."""
        if self._server_kind is None:
            try:
                models = self._models()
                entry = next((m for m in models if m.get("id") == self._model), models[0] if models else {})
                self._learn_context(entry)
            except (LLMRequestError, ValueError):
                self._server_kind = "unknown"
        return self._server_kind or "unknown"

    # -- tokens -------------------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Exact count via the server's /tokenize (llama.cpp and vLLM both have one), else an estimate."""
        if self._tokenize_ok is not False:
            try:
                body: dict[str, Any] = {"content": text, "prompt": text, "add_special": False}
                if self._model:
                    body["model"] = self._model  # vLLM checks it against --served-model-name
                r = self._http.post(self.root_url + "/tokenize", json=body)
                if r.status_code == 200:
                    data = r.json()
                    if isinstance(data.get("count"), int):  # vLLM
                        self._tokenize_ok = True
                        return data["count"]
                    if isinstance(data.get("tokens"), list):  # llama.cpp
                        self._tokenize_ok = True
                        return len(data["tokens"])
                if self._tokenize_ok is None:
                    self._tokenize_ok = False
            except (httpx.HTTPError, ValueError):
                if self._tokenize_ok is None:
                    self._tokenize_ok = False
        return estimate_tokens(text)

    # -- chat ------------------------------------------------------------------------------------------
    def chat(
        self,
        messages: Sequence[Message],
        json_schema: dict | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        seed: int | None = 0,
        schema_name: str = "response",
        stop: Sequence[str] | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> LLMResult:
        """One chat completion; with ``json_schema`` the server constrains decoding to that schema.

        ``extra_body``: server-specific request fields (e.g. llama.cpp ``cache_prompt``/``ignore_eos``).
        """
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": False,
        }
        if seed is not None:
            body["seed"] = seed
        if stop:
            body["stop"] = list(stop)
        if extra_body:
            body.update(extra_body)
        use_grammar = json_schema is not None and (
            self.json_mode == "grammar"
            or (self.json_mode == "auto" and self._grammar_ok is not False and self.server_kind == "llamacpp")
        )
        if use_grammar:
            body["grammar"] = llguidance_json_grammar(json_schema)
        elif json_schema is not None:
            body["response_format"] = response_format(json_schema, schema_name)
        t0 = time.perf_counter()
        try:
            data = self._request("POST", self.base_url + "/chat/completions", body).json()
        except LLMRequestError as e:
            if not use_grammar or isinstance(e, ContextLengthError) or self._grammar_ok or self.json_mode == "grammar":
                raise
            # A llama.cpp built without llguidance: fall back to its standard schema support.
            log.info("llama.cpp at %s refused the llguidance grammar (%s); using response_format", self.base_url, e)
            self._grammar_ok = False
            del body["grammar"]
            body["response_format"] = response_format(json_schema, schema_name)
            data = self._request("POST", self.base_url + "/chat/completions", body).json()
        if use_grammar:
            self._grammar_ok = True
        latency = time.perf_counter() - t0
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError) as e:
            raise LLMRequestError(f"LLM server at {self.base_url} sent an unexpected reply: {str(data)[:300]}") from e
        usage = data.get("usage") or {}
        parsed = _parse_json_object(text) if json_schema is not None else None
        timings = {k: float(v) for k, v in (data.get("timings") or {}).items() if isinstance(v, (int, float))}
        return LLMResult(
            text=text,
            parsed=parsed,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            latency_s=latency,
            model=str(data.get("model") or self.model),
            finish_reason=choice.get("finish_reason"),
            timings=timings,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "LLMClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LLMClient({self.name!r}, {self.base_url})"


def response_format(json_schema: dict, name: str = "response") -> dict:
    """The OpenAI structured-output request field (vLLM enforces it with xgrammar/guidance)."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": json_schema, "strict": True}}


def llguidance_json_grammar(json_schema: dict) -> str:
    """An llguidance grammar for llama.cpp's ``grammar`` field: the schema with compact, fixed whitespace."""
    schema = dict(json_schema)
    schema["x-guidance"] = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
    return "%llguidance {}\nstart: %json " + json.dumps(schema, separators=(",", ":"))


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN)) if text else 0


def _parse_json_object(text: str) -> dict | None:
    """The JSON object in ``text`` (None when truncated or not an object)."""
    s = text.strip()
    if s.startswith("```"):  # some servers/models wrap JSON in a fence when not constrained
        s = s.strip("`")
        s = s[s.find("{") :] if "{" in s else s
    try:
        value = json.loads(s)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _error_message(r: httpx.Response) -> str:
    try:
        data = r.json()
    except ValueError:
        return r.text[:500]
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or err)[:500]
    if isinstance(data, dict) and "message" in data:  # vLLM's ErrorResponse
        return str(data["message"])[:500]
    return str(data)[:500]


# -- factory -------------------------------------------------------------------------------------------
class LocalLLM(LLMClient):
    """LLMClient bound to this process's warm llama.cpp server; ``close()`` keeps the server for reuse."""

    def __init__(self, model: str | None = None, n_ctx: int | None = None, **kw: Any) -> None:
        from agent.llm.local import DEFAULT_N_CTX, get_server

        self.server = get_server(model, n_ctx=n_ctx or DEFAULT_N_CTX)
        super().__init__(
            self.server.base_url,
            model=self.server.model_name,
            context_tokens=self.server.n_ctx,
            name=f"local:{self.server.model_name}",
            server_kind="llamacpp",
            **kw,
        )


def make_llm(
    backend: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    **kw: Any,
) -> LLM:
    """The configured LLM. Env defaults: CLINQA_LLM_BACKEND (local), CLINQA_LLM_MODEL,
    CLINQA_LLM_BASE_URL (openai backend, e.g. http://gpu-host:8000/v1), CLINQA_LLM_API_KEY,
    CLINQA_LLM_TIMEOUT (seconds per request; raw-notes prompts of 10k tokens need more than the default on a CPU).

    ``local``: packaged GGUF name or .gguf path (default qwen2.5-1.5b) on the embedded llama.cpp server.
    ``openai``: any OpenAI-compatible server (vLLM); ``model`` None = the server's first model.
    """
    backend = (backend or os.environ.get("CLINQA_LLM_BACKEND") or "local").lower()
    model = model or os.environ.get("CLINQA_LLM_MODEL") or None
    if os.environ.get("CLINQA_LLM_TIMEOUT") and "timeout_s" not in kw:
        try:
            kw["timeout_s"] = float(os.environ["CLINQA_LLM_TIMEOUT"])
        except ValueError:
            raise ClinqaError(f"CLINQA_LLM_TIMEOUT must be a number of seconds, got {os.environ['CLINQA_LLM_TIMEOUT']!r}") from None
    if backend == "local":
        return LocalLLM(model, **kw)
    if backend in ("openai", "vllm"):
        url = base_url or os.environ.get("CLINQA_LLM_BASE_URL")
        if not url:
            raise LLMUnavailableError(
                "the openai backend needs a server URL: pass --base-url or set CLINQA_LLM_BASE_URL "
                "(e.g. http://gpu-host:8000/v1; see `clinqa llm vllm-command`)"
            )
        key = api_key or os.environ.get("CLINQA_LLM_API_KEY") or None
        client = LLMClient(url, model=model, api_key=key, **kw)
        client.name = f"openai:{model or client.base_url}"
        return client
    raise ClinqaError(f"unknown LLM backend {backend!r}: use local or openai")
