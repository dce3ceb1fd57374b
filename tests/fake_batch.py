"""An OpenAI-compatible Batch API on 127.0.0.1 for tests, over real HTTP: `/v1/files` (multipart upload,
`/content` download), `/v1/batches` (create, retrieve) and `/v1/chat/completions` for the live calls,
every answer written by tests/fake_llm.py's FakeLLM (so its `behaviour` scripts batched and live answers
alike: a request whose scripted mode is "error" fails inside the batch, HTTP 500 in the error file).

`GET /v1/batches` lists the batches newest first, as OpenAI's does. `lose_creates` batches are created
and their answer lost (the connection closed without a response), as when a network fails after the
provider acted. A batch answers "in_progress" to its first `pending_checks` retrievals, then finishes as the next of
`outcomes` says ("completed" when none is left): "completed" runs every request; "expired" runs the
first half and lists the rest in the error file with code batch_expired, as OpenAI's Batch API does.
`live` logs the chat-completion requests sent live, `batched` the request bodies of every batch run; a
live answer reports `cached_share` of its prompt tokens as read from the prompt cache
(usage.prompt_tokens_details.cached_tokens).
"""

from __future__ import annotations

import json
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from fake_llm import FakeLLM, _Server


class FakeBatchAPI:
    """Start with `with FakeBatchAPI() as api:`; `api.base_url` is the /v1 URL."""

    def __init__(self, pending_checks: int = 0, cached_share: float = 0.0):
        self.pending_checks = pending_checks
        self.cached_share = cached_share  # of a live answer's prompt tokens, reported as read from the prompt cache
        self.outcomes: list[str] = []
        self.lose_creates = 0
        self.llm = FakeLLM()
        self.live: list[dict] = []
        self.batched: list[dict] = []
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self._checks: dict[str, int] = {}
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, payload: object, raw: bytes | None = None) -> None:
                body = raw if raw is not None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                parts = urlsplit(self.path).path.strip("/").split("/")  # v1, files|batches[, id[, content]]
                with api._lock:
                    if parts[1:2] == ["files"] and parts[-1] == "content":
                        return self._send(200, None, api.files[parts[2]])
                    if parts[1:] == ["batches"]:
                        listed = sorted(api.batches.values(), key=lambda b: int(b["id"].split("_")[1]), reverse=True)
                        return self._send(200, {"object": "list", "data": listed, "has_more": False})
                    if parts[1:2] == ["batches"]:
                        return self._send(200, api._retrieve(parts[2]))
                self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self):
                data = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path.endswith("/files"):
                    return self._send(200, api._upload(self.headers["Content-Type"], data))
                if self.path.endswith("/batches"):
                    batch = api._create(json.loads(data))
                    with api._lock:
                        lost, api.lose_creates = api.lose_creates > 0, max(0, api.lose_creates - 1)
                    if lost:  # created, and the answer never arrives
                        self.close_connection = True
                        return None
                    return self._send(200, batch)
                request = json.loads(data)
                with api._lock:
                    api.live.append(request)
                status, payload, *_ = api.llm.answer(request)
                if status == 200 and isinstance(payload, dict) and "usage" in payload:
                    cached = int(payload["usage"]["prompt_tokens"] * api.cached_share)
                    payload["usage"]["prompt_tokens_details"] = {"cached_tokens": cached}
                self._send(status, payload)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/v1"

    def _upload(self, content_type: str, data: bytes) -> dict:
        form = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + data)
        fields = {part.get_param("name", header="content-disposition"): part for part in form.iter_parts()}
        content = fields["file"].get_payload(decode=True)
        assert isinstance(content, bytes), "the upload's file part holds no bytes"
        purpose = fields["purpose"].get_content().strip()
        with self._lock:
            return self._file(content, fields["file"].get_filename() or "upload.jsonl", purpose)

    def _file(self, content: bytes, filename: str, purpose: str) -> dict:
        """Store `content` as a new file (the caller holds the lock); its FileObject."""
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = content
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }

    def _create(self, body: dict) -> dict:
        with self._lock:
            batch_id = f"batch_{len(self.batches) + 1}"
            self.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body["endpoint"],
                "completion_window": body["completion_window"],
                "input_file_id": body["input_file_id"],
                "metadata": body.get("metadata"),
                "created_at": int(time.time()),
                "status": "validating",
            }
            self._checks[batch_id] = 0
            return self.batches[batch_id]

    def _retrieve(self, batch_id: str) -> dict:
        """The batch's state; it runs at the first retrieval after its pending checks."""
        batch = self.batches[batch_id]
        self._checks[batch_id] += 1
        if batch["status"] in ("validating", "in_progress"):
            if self._checks[batch_id] <= self.pending_checks:
                batch["status"] = "in_progress"
            else:
                self._run(batch, self.outcomes.pop(0) if self.outcomes else "completed")
        return batch

    def _run(self, batch: dict, outcome: str) -> None:
        lines = [json.loads(line) for line in self.files[batch["input_file_id"]].decode().splitlines()]
        reached = lines[: len(lines) // 2] if outcome == "expired" else lines
        output, errors = [], []
        for n, line in enumerate(lines):
            if line not in reached:
                expired = {"code": "batch_expired", "message": "This request could not be executed before expiry."}
                errors.append(
                    {"id": f"batch_req_{n}", "custom_id": line["custom_id"], "response": None, "error": expired}
                )
                continue
            self.batched.append(line["body"])
            status, payload, *_ = self.llm.answer(line["body"])
            response = {"status_code": status, "request_id": f"req_{n}", "body": payload}
            (output if status == 200 else errors).append(
                {"id": f"batch_req_{n}", "custom_id": line["custom_id"], "response": response, "error": None}
            )
        for name, rows in (("output_file_id", output), ("error_file_id", errors)):
            if rows:
                content = "".join(json.dumps(r) + "\n" for r in rows).encode()
                batch[name] = self._file(content, f"{batch['id']}_{name}.jsonl", "batch_output")["id"]
        counts = {"total": len(lines), "completed": len(output), "failed": len(errors)}
        batch.update(status=outcome, request_counts=counts, completed_at=int(time.time()))

    def __enter__(self) -> FakeBatchAPI:
        self.llm.__enter__()  # its own port stays unused: its answers are reached through this server
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.llm.__exit__(*exc)
