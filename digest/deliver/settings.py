"""The `notify:` settings and the targets of a run: Apprise URLs from sources.yaml (`notify.urls`) and
from the environment variable `notify.urls_env` names, each checked with Apprise when the config
is read, and site.url, without which no message could link to the published page.

An Apprise URL carries passwords and tokens: no error, report or log shows it. A target is named
by its position, its scheme and its ledger id (a hash of the URL, digest.deliver.ledger.target_id).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from digest.deliver.ledger import target_id
from digest.errors import ConfigError
from digest.strict import Strict

if TYPE_CHECKING:
    from apprise.plugins.base import NotifyBase

APPRISE_URLS = "https://github.com/caronc/apprise/wiki"
APP_NAME = "PaperBot Daily Digest"  # the sender's name where a URL gives none (Apprise's default: "Apprise")


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def plugin(url: str) -> NotifyBase | None:
    """Apprise's plugin for the Apprise URL `url`, ready to send, or None when Apprise cannot use
    it (Apprise logs why, with the URL's secrets masked)."""
    # Imported here: Apprise loads its 130 plugins (about 0.5 s), and only a config with notify
    # targets needs them, not every command that reads sources.yaml.
    from apprise import Apprise, AppriseAsset
    from apprise.plugins.base import NotifyBase

    found = Apprise.instantiate(url, asset=AppriseAsset(app_id=APP_NAME))
    return found if isinstance(found, NotifyBase) else None


def _apprise_url(url: str) -> str:
    """`url` unless Apprise cannot use it; the error names the scheme only, never the URL (it holds secrets)."""
    if plugin(url) is None:
        scheme = _scheme(url)
        raise PydanticCustomError(
            "apprise_url",
            "{what} is not a notification URL Apprise can use (the schemes are listed at {wiki})",
            {"what": f"a {scheme}:// URL" if scheme else "a value without scheme://", "wiki": APPRISE_URLS},
        )
    return url


class NotifyConfig(Strict):
    """`notify:`: where each published day is announced. `urls` are Apprise URLs (mailto://, slack://,
    discord://, tgram://, matrix://, ntfy://, json:// ...); `urls_env` names an environment variable
    holding more of them, separated by spaces or commas, so that passwords and tokens stay out of
    the file."""

    urls: list[Annotated[str, AfterValidator(_apprise_url)]] = []
    urls_env: str | None = None


@dataclass(frozen=True)
class Target:
    """One notification target: its Apprise URL and its place among the run's targets (1 is the
    first of notify.urls; those of notify.urls_env follow)."""

    number: int
    url: str

    @property
    def id(self) -> str:
        """Its name in the sent ledger: a hash of the URL (digest.deliver.ledger.target_id)."""
        return target_id(self.url)

    @property
    def label(self) -> str:
        """How reports and logs name it without its secrets: 'notify target 2 (mailto://…, 3fa2b1c4d5e6f708)'."""
        return f"notify target {self.number} ({_scheme(self.url)}://…, {self.id})"


def targets(notify: NotifyConfig, environ: Mapping[str, str] | None = None) -> list[Target]:
    """The run's targets: notify.urls, then those in the variable notify.urls_env names. Raises
    ConfigError when that variable is unset or empty, or holds a URL Apprise cannot use (named by
    its position, never by its text)."""
    urls = list(notify.urls)
    if notify.urls_env:
        value = (os.environ if environ is None else environ).get(notify.urls_env, "")
        if not value.strip():
            raise ConfigError(f"notify.urls_env names {notify.urls_env}, which is not set in the environment")
        from apprise.utils.parse import parse_urls  # see `plugin`

        for n, url in enumerate(parse_urls(value), 1):
            try:
                urls.append(_apprise_url(url))
            except PydanticCustomError as exc:
                raise ConfigError(f"notify.urls_env: URL {n} in {notify.urls_env}: {exc.message()}") from None
    return [Target(n, url) for n, url in enumerate(urls, 1)]


def check(notify: NotifyConfig, site_url: str | None, environ: Mapping[str, str] | None = None) -> list[Target]:
    """The run's targets (see `targets`), checked before anything is built. Raises ConfigError as
    `targets` does, and when there are targets but `site_url` (site.url, or DIGEST_SITE_URL) is not
    an absolute http(s) URL: a message links to the published page, and only site.url says where
    the page is published."""
    found = targets(notify, environ)
    parts = urlsplit(site_url or "")
    if found and (parts.scheme not in ("http", "https") or not parts.netloc):
        now = "it is not set" if site_url is None else f"not {site_url!r}"
        raise ConfigError(
            "notify needs site.url (or DIGEST_SITE_URL) to be the public http(s) URL of the output folder, "
            f"so that the messages can link to the published page; {now}"
        )
    return found
