"""Notifications after a day is published, through Apprise: each target of the run
(digest.deliver.settings) gets one message per day, the sent ledger (digest.deliver.ledger)
saying which already had it.

An SMTP target (Apprise's `mailto://` and `mailtos://`) gets an e-mail whose plain-text part is
written for reading (every link shown as its full URL), beside the HTML part. Apprise's e-mail
plugin would derive the text part from the HTML itself, dropping every link's URL, so the message
is built here (multipart/alternative, with the standard library) and sent over Apprise's own SMTP
connection, set up from the URL exactly as Apprise would (`mode=`, `smtp=`, `from=`, `to=`,
`cc=`, `bcc=`, the provider templates such as Gmail's). Every other target (Slack, Discord,
Telegram, Matrix, ntfy, `json://` ...) gets the chat Markdown, which Apprise converts to what the
service takes.

An Apprise URL carries passwords and tokens: it is never logged or stored. A target is named by
its position and scheme, and by its ledger id (a hash of the URL): `Target.label`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import smtplib
from collections.abc import Iterator, Mapping
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from typing import Literal

from apprise import NotifyFormat
from apprise.plugins.base import NotifyBase
from apprise.plugins.email import NotifyEmail
from apprise.plugins.email.smtp import AppriseSMTPController

from digest.deliver.ledger import Ledger, LedgerError, Sent
from digest.deliver.message import Message, build_message
from digest.deliver.settings import NotifyConfig, Target, check, plugin
from digest.models import Digest

log = logging.getLogger(__name__)


# Apprise's debug lines, and those of urllib3 below it, hold request URLs, and a webhook's URL is its
# token (Slack's "POST URL", "POST /services/T…/B…/…"): they log at INFO at most while Apprise sends.
_QUIET_LOGGERS = ("apprise", "urllib3")


@contextlib.contextmanager
def _apprise_quiet() -> Iterator[None]:
    """Within the block, the loggers of _QUIET_LOGGERS pass INFO and above only."""
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.INFO))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _address(name: object, address: str) -> str:
    """'Name <address>', or the bare address: Apprise keeps a missing display name as False."""
    return formataddr((name if isinstance(name, str) and name else None, address))


def _mime(message: Message, mailto: NotifyEmail, sender: str, to: tuple[str | bool, str]) -> EmailMessage:
    """The e-mail from `sender` to one recipient `to` (name, address) of the `mailto` URL: the text
    part first, the HTML part last (RFC 2046 5.1.4: the last part is the preferred one)."""
    names = mailto.names or {}
    mail = EmailMessage(policy=SMTP)
    mail["Subject"] = message.subject
    mail["From"] = _address(mailto.from_addr[0], sender)
    mail["To"] = _address(*to)
    cc = sorted(mailto.cc - mailto.bcc - {to[1]})
    if cc:
        mail["Cc"] = ", ".join(_address(names.get(a), a) for a in cc)
    if mailto.reply_to:
        mail["Reply-To"] = ", ".join(_address(names.get(a), a) for a in sorted(mailto.reply_to))
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    for name, value in mailto.headers.items():  # the URL's own +Header=value pairs
        mail[name] = value
    mail.set_content(message.text, cte="quoted-printable")
    mail.add_alternative(message.html, subtype="html", cte="quoted-printable")
    return mail


def _send_email(mailto: NotifyEmail, message: Message) -> bool:
    """Send `message` to every recipient of the `mailto` URL (one e-mail each, as Apprise does, with
    the URL's Cc and Bcc). Whether every one was accepted (False too for a URL that gives no sender,
    recipient or port); raises OSError or SMTPException when the server cannot be reached or
    refuses the login."""
    sender = mailto.from_addr[1]
    if not (mailto.targets and mailto.port and isinstance(sender, str) and sender):
        return False
    # Apprise has set the host, port and mode from the URL, its mode= and its provider templates.
    with AppriseSMTPController(
        host=mailto.smtp_host or "",
        port=mailto.port,
        secure_mode=mailto.secure_mode or "",
        user=mailto.user,
        password=mailto.password,
        verify_certificate=mailto.verify_certificate,
        # whole seconds as the controller takes them, rounded up: 0 would make the socket non-blocking
        socket_connect_timeout=math.ceil(mailto.socket_connect_timeout),
    ) as smtp:
        accepted = True
        for to in mailto.targets:
            envelope = [to[1], *sorted((mailto.cc | mailto.bcc) - {to[1]})]
            accepted &= smtp.sendmail(sender, envelope, _mime(message, mailto, sender, to).as_string())
    return accepted


def _send(service: NotifyBase, message: Message) -> Literal["email", "chat"] | None:
    """Send `message` through Apprise's plugin `service` in its form; the form sent, or None when
    the target refused it."""
    if isinstance(service, NotifyEmail):
        return "email" if _send_email(service, message) else None
    sent = service.notify(body=message.markdown, title=message.subject, body_format=NotifyFormat.MARKDOWN)
    return "chat" if sent else None


def _deliver_one(target: Target, message: Message, day: dt.date, ledger: Ledger) -> str | None:
    """Send `message` (the notification of `day`) to `target` and record it in `ledger`; the
    problem, for the run report, when it failed."""
    service = plugin(target.url)
    if service is None:  # checked with the config, so Apprise refused it only now (a URL in the environment changed)
        return f"{target.label}: Apprise cannot use this URL"
    try:
        kind = _send(service, message)
    except (OSError, smtplib.SMTPException) as exc:  # the mail server: unreachable, TLS or login refused
        return f"{target.label}: {type(exc).__name__}: {exc}"
    except Exception as exc:  # a fault in one Apprise plugin must not cost the other targets their message
        return f"{target.label}: Apprise failed ({type(exc).__name__})"
    if kind is None:
        return f"{target.label}: not delivered (the service refused it or could not be reached)"
    log.info("%s: %s sent", target.label, kind)
    sent = Sent(sent_at=dt.datetime.now(dt.UTC), kind=kind, subject=message.subject, page=message.page)
    try:
        ledger.record(day, target.id, sent)
    except OSError as exc:
        return f"{target.label}: sent, but the ledger could not be written ({exc}): a rerun sends it again"
    return None


def deliver(
    digest: Digest,
    notify: NotifyConfig,
    site_url: str | None,
    data: Path,
    resend: bool = False,
    degraded: bool = False,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """Announce the published `digest` to every target of `notify` (`environ` defaults to
    os.environ) that the ledger under the data folder `data` has not recorded for the day, or to
    every one with `resend`. Links are absolute under `site_url` (site.url); `degraded` says in the
    message that the day was published degraded.

    Returns the problems, one line each for the run report (a target that failed is tried again at
    the next run; an unreadable ledger sends nothing). Never raises for a target that fails; raises
    ConfigError as digest.deliver.settings.check does, which a build runs before anything else.
    """
    found = check(notify, site_url, environ)
    if not found or site_url is None:  # no targets (check refuses targets without site.url)
        return []
    try:
        ledger = Ledger.open(data)
    except LedgerError as exc:
        return [f"notify: {exc}"]
    message = build_message(digest, site_url, degraded)
    problems = []
    with _apprise_quiet():
        for target in found:
            earlier = None if resend else ledger.sent(digest.date, target.id)
            if earlier is not None:
                log.info("%s: already sent at %s (--resend sends again)", target.label, earlier.sent_at.isoformat())
                continue
            problem = _deliver_one(target, message, digest.date, ledger)
            if problem:  # logged with the run's other problems, by whoever reports the run
                problems.append(problem)
    return problems
