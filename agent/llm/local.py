"""llama.cpp's OpenAI-compatible HTTP server, embedded in this process through xllamacpp.

Running the real server (not Python bindings) means the agent talks to a local
GGUF model over exactly the HTTP protocol it uses against vLLM in production.
Loading a model costs seconds, so servers are kept warm in a per-process
registry (``get_server``) and shared by tests, the CLI and the agent.
"""
from __future__ import annotations

import atexit
import gc
import logging
import os
import threading
import time
from pathlib import Path

import httpx

from clinqa.errors import LLMUnavailableError

from agent.llm.models import resolve_model

log = logging.getLogger(__name__)

DEFAULT_N_CTX = 16384  # fits ~8k-token evidence prompts plus answer with room to spare


def cpu_count() -> int:
    """Cores this process may use (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class LocalLlamaServer:
    """One llama.cpp server for one GGUF on 127.0.0.1 (OS-assigned free port).

    ``start()`` loads the model and returns once ``/health`` answers 200;
    ``stop()`` releases the native server (its destructor closes the socket).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int | None = None,
        n_parallel: int = 1,
        start_timeout_s: float = 180.0,
        verbosity: int = -1,
    ) -> None:
        self.model_name, self.model_path = resolve_model(str(model) if model is not None else None)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or int(os.environ.get("CLINQA_LLM_THREADS") or 0) or cpu_count()
        self.n_parallel = n_parallel
        self.start_timeout_s = start_timeout_s
        self.verbosity = verbosity
        self.load_time_s: float | None = None
        self._server = None
        self._root: str | None = None
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:PORT (llama.cpp's native endpoints: /health, /tokenize, /props)."""
        if self._root is None:
            raise LLMUnavailableError(f"local llama.cpp server for {self.model_name} is not started")
        return self._root

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL, the same shape as vLLM's (http://host:port/v1)."""
        return self.root_url + "/v1"

    def _params(self):
        import xllamacpp as xlc

        p = xlc.CommonParams()
        p.model.path = str(self.model_path)
        p.model_alias = {self.model_name}  # what /v1/models and responses report as "model"
        p.hostnames = ["127.0.0.1"]
        p.port = 0  # the OS picks a free port; listening_address tells us which
        p.n_ctx = self.n_ctx
        p.n_parallel = self.n_parallel
        p.cpuparams.n_threads = self.n_threads
        p.cpuparams_batch.n_threads = self.n_threads
        p.use_jinja = True  # the GGUF's own chat template
        p.verbosity = self.verbosity
        return p

    def start(self) -> "LocalLlamaServer":
        with self._lock:
            if self._server is not None:
                return self
            try:
                import xllamacpp as xlc
            except ImportError as e:  # pragma: no cover - pinned dependency
                raise LLMUnavailableError(f"xllamacpp is not installed ({e}); pip install xllamacpp") from e
            t0 = time.perf_counter()
            try:
                server = xlc.Server(self._params())  # loads the model and starts listening
            except Exception as e:
                raise LLMUnavailableError(
                    f"llama.cpp server failed to start for {self.model_name} ({self.model_path}): {e}"
                ) from e
            root = str(server.listening_address).rstrip("/")
            deadline = time.monotonic() + self.start_timeout_s
            last: str = "no answer"
            with httpx.Client(timeout=5.0) as http:
                while True:
                    try:
                        r = http.get(root + "/health")
                        if r.status_code == 200:
                            break
                        last = f"HTTP {r.status_code}: {r.text[:200]}"  # 503 while loading
                    except httpx.HTTPError as e:
                        last = repr(e)
                    if time.monotonic() > deadline:
                        del server
                        gc.collect()
                        raise LLMUnavailableError(
                            f"llama.cpp server at {root} for {self.model_name} not healthy after "
                            f"{self.start_timeout_s:.0f}s ({last})"
                        )
                    time.sleep(0.1)
            self._server, self._root = server, root
            self.load_time_s = time.perf_counter() - t0
            log.info("llama.cpp server for %s at %s ready in %.1fs", self.model_name, root, self.load_time_s)
            return self

    def stop(self) -> None:
        with self._lock:
            if self._server is None:
                return
            self._server = None  # only reference: the native destructor stops the HTTP server
            self._root = None
            gc.collect()

    def __enter__(self) -> "LocalLlamaServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._root or "stopped"
        return f"LocalLlamaServer({self.model_name!r}, n_ctx={self.n_ctx}, {where})"


# -- per-process registry: one warm server per (model file, n_ctx) --------------------------------------
_REGISTRY: dict[tuple[str, int], LocalLlamaServer] = {}
_REGISTRY_LOCK = threading.Lock()


def get_server(model: str | Path | None = None, n_ctx: int = DEFAULT_N_CTX) -> LocalLlamaServer:
    """The running server for this model, started on first use and reused afterwards."""
    _, path = resolve_model(str(model) if model is not None else None)
    key = (str(path), n_ctx)
    with _REGISTRY_LOCK:
        server = _REGISTRY.get(key)
        if server is None:
            server = _REGISTRY[key] = LocalLlamaServer(model, n_ctx=n_ctx)
    return server.start()


def running_servers() -> list[LocalLlamaServer]:
    with _REGISTRY_LOCK:
        return [s for s in _REGISTRY.values() if s.running]


def stop_all() -> None:
    """Stop every registered server (also run at interpreter exit)."""
    with _REGISTRY_LOCK:
        servers = list(_REGISTRY.values())
        _REGISTRY.clear()
    for s in servers:
        s.stop()


atexit.register(stop_all)
