"""Notifications after publish (digest.deliver): a real SMTP server (aiosmtpd) and a webhook receiver
on 127.0.0.1 get one message per target for the built demo day, linking to the page's anchors; a
rerun sends nothing, --resend sends again, a failing target is a problem retried at the next run,
and no Apprise URL (they hold secrets) reaches a report, a log or the ledger."""

import email
import json
import logging
import socket
import threading
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from conftest import DEMO_DATE, Page, build_args, demo_config
from fake_llm import FakeLLM
from pydantic import ValidationError

from digest.cli import main
from digest.deliver.ledger import LEDGER_FILE
from digest.deliver.message import DEGRADED, markdown_text
from digest.deliver.notify import deliver
from digest.deliver.settings import NotifyConfig, check
from digest.errors import ConfigError
from digest.models import Digest
from digest.render.site import read_day

SITE_URL = "https://digest.example.org/ai"
PAGE = f"{SITE_URL}/{DEMO_DATE}/"
SUBJECT = "PaperBot Daily Digest — Thursday 30 April 2026"
SECRET = "s3cret-token"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Digest, Page]:
    """The demo day built with the fake endpoint: its published digest and its page."""
    root = tmp_path_factory.mktemp("built")
    with FakeLLM() as llm, pytest.MonkeyPatch.context() as env:
        env.setenv("OPENAI_BASE_URL", llm.base_url)
        env.setenv("OPENAI_API_KEY", "test-key")
        env.delenv("DIGEST_MODEL", raising=False)
        env.delenv("DIGEST_SITE_URL", raising=False)
        assert main(build_args(output=root / "site", data=root / "data")) == 0
    day = root / "site" / DEMO_DATE
    digest = read_day(day)
    assert digest is not None
    return digest, Page((day / "index.html").read_text())


class Mailbox:
    """What the SMTP server received: (envelope sender, recipients, parsed message) per e-mail."""

    def __init__(self):
        self.mails: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    """An SMTP server on 127.0.0.1 without TLS; yields (its mailbox, a mailto:// URL for it)."""
    mailbox, port = Mailbox(), _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    url = f"mailto://127.0.0.1:{port}?mode=insecure&from=digest@example.org&to=reader@example.org"
    yield mailbox, url
    controller.stop()


class Webhook:
    """An HTTP receiver on 127.0.0.1 for Apprise's json://: every POST's path and JSON body, answered
    with `status`."""

    def __init__(self):
        self.posts: list[tuple[str, dict]] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                hook.posts.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # The path ends in a token, as a Slack or Discord webhook's does: it must never be shown.
        self.url = f"json://127.0.0.1:{self.httpd.server_port}/hooks/{SECRET}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def _links(html: str) -> list[str]:
    return Page(html).hrefs


def _parts(message: email.message.EmailMessage) -> tuple[str, str]:
    """The (plain text, HTML) parts of a multipart/alternative e-mail, in that order."""
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    return text.get_content(), html.get_content()


def test_each_target_gets_one_message_linking_to_the_page_and_a_rerun_sends_none(built, smtp, webhook, tmp_path):
    digest, page = built
    mailbox, mail_url = smtp
    notify = NotifyConfig(urls=[mail_url, webhook.url])

    assert deliver(digest, notify, SITE_URL, tmp_path) == []

    assert len(mailbox.mails) == 1 and len(webhook.posts) == 1
    sender, recipients, mail = mailbox.mails[0]
    assert (sender, recipients, mail["Subject"], mail["From"], mail["To"]) == (
        "digest@example.org",
        ["reader@example.org"],
        SUBJECT,
        "digest@example.org",
        "reader@example.org",
    )
    text, html = _parts(mail)
    links = _links(html)
    # Every link opens the day's page, at an anchor the page has; the plain text shows each in full.
    assert PAGE in links and all(link.startswith(PAGE) for link in links)
    assert {link.partition("#")[2] for link in links} - {""} <= set(page.ids)
    assert {f"{PAGE}#paper-{w.paper.arxiv_id.replace('.', '-')}" for w in digest.papers} <= set(links)
    assert all(link in text for link in links)
    assert all(w.paper.title in text for w in digest.papers) and all(t.title in text for t in digest.topics)
    assert "<style" not in html and 'style="' in html  # the stylesheet is inlined
    # The chat target: the subject as title, a Markdown body whose links are the page's.
    path, payload = webhook.posts[0]
    assert path == f"/hooks/{SECRET}" and payload["title"] == SUBJECT
    assert f"[{markdown_text(digest.papers[0].paper.title)}]({PAGE}#paper-" in payload["message"]
    assert f"[Read the digest]({PAGE})" in payload["message"]

    assert deliver(digest, notify, SITE_URL, tmp_path) == []  # the rerun
    assert len(mailbox.mails) == 1 and len(webhook.posts) == 1

    assert deliver(digest, notify, SITE_URL, tmp_path, resend=True) == []
    assert len(mailbox.mails) == 2 and len(webhook.posts) == 2


def test_a_degraded_day_says_so_in_every_message(built, smtp, webhook, tmp_path):
    mailbox, mail_url = smtp
    deliver(built[0], NotifyConfig(urls=[mail_url, webhook.url]), SITE_URL, tmp_path, degraded=True)
    text, html = _parts(mailbox.mails[0][2])
    assert mailbox.mails[0][2]["Subject"] == f"{SUBJECT} (degraded)"
    assert DEGRADED in text and DEGRADED in html
    assert webhook.posts[0][1]["title"] == f"{SUBJECT} (degraded)"
    assert markdown_text(DEGRADED) in webhook.posts[0][1]["message"]


def test_a_failing_target_is_a_problem_without_its_url_and_is_retried_at_the_next_run(
    built, smtp, webhook, tmp_path, caplog
):
    mailbox, mail_url = smtp
    notify = NotifyConfig(urls=[mail_url, webhook.url])
    webhook.status = 500
    caplog.set_level(logging.DEBUG)  # not even Apprise's debug lines may show a URL's secrets

    problems = deliver(built[0], notify, SITE_URL, tmp_path)

    assert len(problems) == 1 and problems[0].startswith("notify target 2 (json://…, ")
    assert len(mailbox.mails) == 1 and len(webhook.posts) == 1
    ledger = (tmp_path / LEDGER_FILE).read_text()
    for where in (problems[0], ledger, caplog.text):
        assert SECRET not in where and mail_url not in where
    webhook.status = 200
    assert deliver(built[0], notify, SITE_URL, tmp_path) == []
    assert len(mailbox.mails) == 1 and len(webhook.posts) == 2  # only the target that had failed


def test_an_unreachable_mail_server_is_a_problem_naming_the_target_not_its_password(built, webhook, tmp_path):
    url = f"mailto://reader:{SECRET}@127.0.0.1:{_free_port()}?mode=insecure&from=digest@example.org"
    problems = deliver(built[0], NotifyConfig(urls=[url, webhook.url]), SITE_URL, tmp_path)
    assert len(problems) == 1 and problems[0].startswith("notify target 1 (mailto://…, ")
    assert "Connection refused" in problems[0] and SECRET not in problems[0]
    assert len(webhook.posts) == 1  # the other target still got its message


def test_an_unreadable_ledger_sends_nothing_and_says_which_file(built, webhook, tmp_path):
    (tmp_path / LEDGER_FILE).write_text("[1, 2")
    problems = deliver(built[0], NotifyConfig(urls=[webhook.url]), SITE_URL, tmp_path)
    assert len(problems) == 1 and str(tmp_path / LEDGER_FILE) in problems[0]
    assert webhook.posts == []


def test_titles_are_literal_text_in_the_chat_markdown(built, webhook, tmp_path):
    digest = built[0]
    first = digest.papers[0]
    odd = first.model_copy(update={"paper": first.paper.model_copy(update={"title": "A [b](x) *c* _d_ `e`"})})
    digest = digest.model_copy(update={"papers": [odd, *digest.papers[1:]]})
    deliver(digest, NotifyConfig(urls=[webhook.url]), SITE_URL, tmp_path)
    assert r"[A \[b\]\(x\) \*c\* \_d\_ \`e\`](" in webhook.posts[0][1]["message"]


def test_notify_without_site_url_is_a_config_error_naming_it(webhook):
    notify = NotifyConfig(urls=[webhook.url])
    with pytest.raises(ConfigError, match=r"notify needs site\.url .*; it is not set"):
        check(notify, None)
    with pytest.raises(ConfigError, match=r"notify needs site\.url .*; not .digest/."):
        check(notify, "digest/")
    assert [t.number for t in check(notify, SITE_URL)] == [1]
    assert check(NotifyConfig(), None) == []  # no targets: nothing to link


def test_urls_from_the_environment_are_checked_and_named_by_position(webhook):
    notify = NotifyConfig(urls_env="DIGEST_NOTIFY_URLS")
    with pytest.raises(ConfigError, match="names DIGEST_NOTIFY_URLS, which is not set"):
        check(notify, SITE_URL, environ={})
    bad = f"{webhook.url}, nosuch://user:{SECRET}@host"
    with pytest.raises(ConfigError, match="URL 2 in DIGEST_NOTIFY_URLS: a nosuch:// URL is not") as raised:
        check(notify, SITE_URL, environ={"DIGEST_NOTIFY_URLS": bad})
    assert SECRET not in str(raised.value)
    found = check(notify, SITE_URL, environ={"DIGEST_NOTIFY_URLS": f"{webhook.url} mailto://a:b@example.org"})
    assert [t.url for t in found] == [webhook.url, "mailto://a:b@example.org"]


def test_a_url_apprise_cannot_use_is_refused_with_the_setting_named_and_no_secret():
    with pytest.raises(ValidationError) as raised:
        NotifyConfig.model_validate({"urls": ["json://127.0.0.1/ok", f"nosuch://user:{SECRET}@host"]})
    (error,) = raised.value.errors()
    assert error["loc"] == ("urls", 1) and "nosuch://" in error["msg"] and SECRET not in error["msg"]
    with pytest.raises(ValidationError, match="extra_forbidden|Extra inputs"):
        NotifyConfig.model_validate({"url": ["json://127.0.0.1/ok"]})


def test_digest_build_with_notify_mails_the_published_day_once(fake_llm, smtp, tmp_path, monkeypatch):
    from conftest import DEMO_CONFIG

    mailbox, mail_url = smtp
    config = demo_config(
        tmp_path, DEMO_CONFIG.read_text() + f"site:\n  url: {SITE_URL}\nnotify:\n  urls_env: DIGEST_NOTIFY_URLS\n"
    )
    monkeypatch.setenv("DIGEST_NOTIFY_URLS", mail_url)
    args = build_args(config=config, output=tmp_path / "site", data=tmp_path / "data")

    assert main(args) == 0
    assert len(mailbox.mails) == 1
    text, html = _parts(mailbox.mails[0][2])
    assert PAGE in _links(html) and PAGE in text
    # The demo's reader profile chose the papers: each top paper says why, in both parts.
    published = json.loads((tmp_path / "site" / DEMO_DATE / "digest.json").read_text())["digest"]
    why = published["papers"][0]["relevance"]["why"]
    assert f"Why: {why}" in text and f"Why: {why}" in Page(html).plain
    assert main(args) == 0  # the rerun
    assert len(mailbox.mails) == 1
    assert main([*args, "--resend"]) == 0
    assert len(mailbox.mails) == 2


def test_a_build_whose_target_fails_is_degraded_and_says_so_in_run_json(fake_llm, tmp_path, monkeypatch):
    from conftest import DEMO_CONFIG

    config = demo_config(
        tmp_path, DEMO_CONFIG.read_text() + f"site:\n  url: {SITE_URL}\nnotify:\n  urls_env: DIGEST_NOTIFY_URLS\n"
    )
    monkeypatch.setenv("DIGEST_NOTIFY_URLS", f"json://127.0.0.1:{_free_port()}/hooks/{SECRET}")

    assert main(build_args(config=config, output=tmp_path / "site", data=tmp_path / "data")) == 3
    run = json.loads((tmp_path / "data" / DEMO_DATE / "run.json").read_text())
    assert run["exit_status"] == 3 and run["page"]
    assert [f for f in run["failures"] if f.startswith("notify target 1 (json://…, ")] and SECRET not in json.dumps(run)


def test_notify_without_site_url_stops_the_build_before_anything_is_fetched(tmp_path, monkeypatch, capsys):
    from conftest import DEMO_CONFIG

    config = demo_config(tmp_path, DEMO_CONFIG.read_text() + "notify:\n  urls: ['json://127.0.0.1:9/hook']\n")
    monkeypatch.delenv("DIGEST_SITE_URL", raising=False)
    assert main(build_args(config=config, output=tmp_path / "site", data=tmp_path / "data")) == 2
    assert "notify needs site.url" in capsys.readouterr().err and not (tmp_path / "site" / DEMO_DATE).exists()
