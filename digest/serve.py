"""`digest serve`: a preview of the output folder on 127.0.0.1, showing what a reader of the
deployed site would see and nothing else.

Directory listings and hidden files (names starting with "."; temp files are hidden) answer 404;
the access log goes through logging (`-q` silences it).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import http.server
import logging
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from digest.errors import UsageError

log = logging.getLogger("digest.serve")


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files of the site folder; a folder only through its index.html."""

    def send_head(self):
        path = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0])  # "%2E" is a dot too
        if any(part.startswith(".") for part in path.split("/") if part):
            self.send_error(404)
            return None
        return super().send_head()

    def list_directory(self, path):
        self.send_error(404)
        return None

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        log.info("%s %s", self.address_string(), format % args)


def make_server(output: Path, port: int) -> http.server.ThreadingHTTPServer:
    """A server for `output` on 127.0.0.1:`port` (0: any free port), not yet serving.

    Raises UsageError when `output` is not a folder or the port cannot be had (in use, or
    privileged).
    """
    if not output.is_dir():
        raise UsageError(f"{output} is not a folder: build a day first, or name the site folder with --output")
    handler = functools.partial(SiteHandler, directory=str(output))
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} is in use: pick another with --port") from None
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None


def serve(output: Path, port: int, announce: Callable[[str], None] = print) -> None:
    """Serve `output` until Ctrl-C; `announce` gets the line with the URL once the port is bound."""
    with make_server(output, port) as server:
        announce(f"Serving {output} on http://127.0.0.1:{server.server_port}/ (Ctrl-C to stop)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
