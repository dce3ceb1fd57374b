"""The one HTTP client every fetch goes through, safe against hostile hosts.

- an identifying User-Agent, a connect/read timeout and a wall-clock deadline per response;
- a body cap applied to the decompressed bytes as they stream in (gzip and deflate are decoded
  here with a bounded `zlib.decompressobj`, so a compression bomb never expands past the cap;
  other encodings are refused);
- redirects followed by hand, at most `Policy.max_redirects`, each hop re-checked: only http(s),
  and no private, loopback, link-local or otherwise non-global address unless the exact
  `host:port` is allowlisted; after connecting, the peer address is checked again (a host that
  resolves differently the second time, DNS rebinding, is dropped before its body is read);
- conditional GET: callers pass the validators they stored (ETag, Last-Modified).

`get` returns a RawResponse whatever happens (a transport error becomes `error`), so one bad host
can never stop the run.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field

import httpx

from digest import __version__
from digest.config import FetchConfig, host_port
from digest.fetch.store import RawResponse

USER_AGENT = f"PaperBotDailyDigest/{__version__} (+https://github.com/paperbot/daily-digest)"
# The fetch settings' defaults (one place: FetchConfig): the decompressed body cap (bytes) and the
# deadline for a whole response (seconds: a server dripping bytes never trips TIMEOUT).
MAX_BODY_BYTES = FetchConfig.model_fields["max_body_bytes"].default
DEADLINE = FetchConfig.model_fields["deadline_seconds"].default
TIMEOUT = httpx.Timeout(30.0, connect=10.0)  # seconds, per network operation
MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class Policy:
    """Limits for one request: `allow_private` holds "host:port" strings that may resolve to
    non-global addresses (local servers, tests); `max_bytes` is the decompressed body cap (bytes);
    `deadline` the wall-clock limit for the whole response (seconds)."""

    allow_private: frozenset[str] = field(default_factory=frozenset)
    max_bytes: int = MAX_BODY_BYTES
    deadline: float = DEADLINE
    max_redirects: int = MAX_REDIRECTS


class Refused(Exception):
    """The request or the body breaks the policy; the message says how."""


def make_client() -> httpx.Client:
    """An httpx client with our User-Agent and timeouts; redirects are left to `get`."""
    return httpx.Client(
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}, timeout=TIMEOUT, follow_redirects=False
    )


def get(
    client: httpx.Client, name: str, url: str, policy: Policy = Policy(), headers: dict[str, str] | None = None
) -> RawResponse:
    """GET `url` for source `name` under `policy`; never raises for network, HTTP or policy errors.

    `headers` are sent on every hop (If-None-Match, If-Modified-Since). A 304 is returned as is,
    without an error; any other status but 200 is an error (a 410 says the URL is gone for good;
    what to do about it depends on the source, so its module words that).
    """
    fetched_at = dt.datetime.now(dt.UTC)
    give_up = time.monotonic() + policy.deadline
    try:
        target = httpx.URL(url)
        for _ in range(policy.max_redirects + 1):
            check_target(target, policy)
            with client.stream("GET", target, headers=headers) as resp:
                check_peer(resp, target, policy)
                if resp.status_code in _REDIRECTS and "location" in resp.headers:
                    target = _next_hop(target, resp.headers["location"])
                    continue
                body = read_body(resp, policy, give_up)
                return RawResponse(
                    name=name,
                    url=url,
                    status=resp.status_code,
                    content_type=resp.headers.get("content-type", ""),
                    body=body,
                    fetched_at=fetched_at,
                    error=_status_error(resp.status_code),
                    etag=resp.headers.get("etag"),
                    last_modified=resp.headers.get("last-modified"),
                )
        raise Refused(f"more than {policy.max_redirects} redirects")
    except Refused as exc:
        return RawResponse(name=name, url=url, fetched_at=fetched_at, error=str(exc))
    except httpx.InvalidURL as exc:  # also raised by httpx itself for a Location like "javascript:x"
        return RawResponse(name=name, url=url, fetched_at=fetched_at, error=f"refused an invalid URL: {exc}")
    except httpx.HTTPError as exc:
        return RawResponse(name=name, url=url, fetched_at=fetched_at, error=f"{type(exc).__name__}: {exc}")


def _next_hop(url: httpx.URL, location: str) -> httpx.URL:
    """The absolute URL a Location header points to; raises Refused for non-http(s) schemes."""
    target = urllib.parse.urljoin(str(url), location.strip())
    scheme = urllib.parse.urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused(f"refused a {scheme or 'relative'}: URL (only http and https are fetched)")
    return httpx.URL(target)


def _status_error(status: int) -> str | None:
    if status in (200, 304):
        return None
    if status == 410:
        return "HTTP 410 Gone: the server removed this URL for good"
    return f"HTTP {status}"


def _allowed(host: str, port: int, policy: Policy) -> bool:
    """Whether fetch.allow_private lists `host`:`port`, compared in the config's one form (an IPv6
    host arrives without brackets from httpx and from the socket)."""
    return host_port(host, port) in policy.allow_private


def _is_public(address: str) -> bool:
    return ipaddress.ip_address(address.split("%", 1)[0]).is_global


def check_target(url: httpx.URL, policy: Policy) -> None:
    """Raise Refused unless `url` is http(s) on a host whose every address is global (or the
    host:port is allowlisted). Resolves the host with the system resolver."""
    if url.scheme not in ("http", "https"):
        raise Refused(f"refused a {url.scheme or 'relative'}: URL (only http and https are fetched)")
    port = url.port or (443 if url.scheme == "https" else 80)
    if _allowed(url.host, port, policy):
        return
    try:
        infos = socket.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"cannot resolve {url.host}: {exc}") from exc
    for *_, sockaddr in infos:
        if not _is_public(str(sockaddr[0])):  # an AF_INET(6) address: a str
            raise Refused(f"refused {url.host}: it resolves to the non-public address {sockaddr[0]}")


def check_peer(resp: httpx.Response, url: httpx.URL, policy: Policy) -> None:
    """Raise Refused when the connected peer is not a global address (and neither the URL's
    host:port nor the peer's ip:port is allowlisted)."""
    port = url.port or (443 if url.scheme == "https" else 80)
    stream = resp.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer or _allowed(url.host, port, policy) or _allowed(str(peer[0]), peer[1], policy):
        return
    if not _is_public(str(peer[0])):
        raise Refused(f"refused {url.host}: connected to the non-public address {peer[0]}")


def read_body(resp: httpx.Response, policy: Policy, give_up: float) -> bytes:
    """The decoded body of `resp`, at most `policy.max_bytes` bytes, complete before `give_up`
    (a time.monotonic() value). Raises Refused past either limit or for an unknown encoding."""
    encoding = resp.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        decoder = None
    elif encoding in ("gzip", "x-gzip", "deflate"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS)
    else:
        raise Refused(f"unsupported Content-Encoding {encoding!r}")
    chunks, size = [], 0
    try:
        for raw in resp.iter_raw():
            if time.monotonic() > give_up:
                raise Refused(f"no complete answer within {policy.deadline:.0f} s")
            # Asking for one byte past what is left is enough to know the cap is exceeded.
            data = decoder.decompress(raw, policy.max_bytes - size + 1) if decoder else raw
            size += len(data)
            if size > policy.max_bytes:
                raise Refused(f"body larger than {policy.max_bytes} bytes")
            chunks.append(data)
    except zlib.error as exc:
        raise Refused(f"corrupt {encoding} body: {exc}") from exc
    return b"".join(chunks)
