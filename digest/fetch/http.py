"""The one HTTP client every fetch goes through: identifying User-Agent, timeouts, a body cap.

Returns a RawResponse whatever happens (a transport error becomes `error`), so one bad host can
never stop the run. The body cap is applied to the decompressed bytes, as they stream in.
"""

from __future__ import annotations

import datetime as dt
import time

import httpx

from digest import __version__
from digest.fetch.store import RawResponse

USER_AGENT = f"PaperBotDailyDigest/{__version__} (+https://github.com/paperbot/daily-digest)"
MAX_BODY_BYTES = 10 * 1024 * 1024
TIMEOUT = httpx.Timeout(30.0, connect=10.0)  # seconds, per network operation
DEADLINE = 60.0  # seconds for a whole response: a server dripping bytes never trips TIMEOUT


def make_client() -> httpx.Client:
    """An httpx client with our User-Agent, timeouts and at most 5 redirects."""
    return httpx.Client(
        headers={"User-Agent": USER_AGENT},
        timeout=TIMEOUT,
        follow_redirects=True,
        max_redirects=5,
    )


def get(client: httpx.Client, name: str, url: str, max_bytes: int = MAX_BODY_BYTES,
        deadline: float = DEADLINE) -> RawResponse:
    """GET `url` for source `name`; never raises for network or HTTP errors.

    A body larger than `max_bytes` (after decompression), or one still arriving `deadline`
    seconds after the request started, is abandoned and reported as an error.
    """
    fetched_at = dt.datetime.now(dt.timezone.utc)
    give_up = time.monotonic() + deadline
    if not url.startswith(("http://", "https://")):
        return RawResponse(name=name, url=url, fetched_at=fetched_at, error="not an http(s) URL")
    try:
        with client.stream("GET", url) as resp:
            chunks, size = [], 0
            for chunk in resp.iter_bytes():
                if time.monotonic() > give_up:
                    return RawResponse(name=name, url=url, status=resp.status_code, fetched_at=fetched_at,
                                       error=f"no complete answer within {deadline:.0f} s")
                size += len(chunk)
                if size > max_bytes:
                    return RawResponse(
                        name=name, url=url, status=resp.status_code, fetched_at=fetched_at,
                        error=f"body larger than {max_bytes} bytes",
                    )
                chunks.append(chunk)
            error = None if resp.status_code == 200 else f"HTTP {resp.status_code}"
            return RawResponse(
                name=name, url=url, status=resp.status_code,
                content_type=resp.headers.get("content-type", ""),
                body=b"".join(chunks), fetched_at=fetched_at, error=error,
            )
    except httpx.HTTPError as exc:
        return RawResponse(name=name, url=url, fetched_at=fetched_at, error=f"{type(exc).__name__}: {exc}")
