"""assert_safe_html(page): the invariants every page we build must hold, whatever its input.

No active elements, no event-handler or style attributes, MathML of an allowlist of elements and
without links, every URL absolute http(s) (or an
in-page '#' anchor, or a relative link to another page of the site), the CSP meta first in
<head> with the required directives, and rel=noopener on external links. The one form a page may
hold is the search box (searchbox.html.j2): a GET form to the site's search.html.
"""

from __future__ import annotations

import hashlib
import html
import re
from html.parser import HTMLParser
from pathlib import Path

FORBIDDEN_TAGS = {
    "script",
    "iframe",
    "object",
    "embed",
    "base",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "svg",
    "img",
    "frame",
    "frameset",
}
FORBIDDEN_ATTRS = {"style", "srcdoc", "formaction", "ping"}
# MathML (TeX rendered by digest.render.math) may hold only these elements, and no link of any kind.
MATHML = set(
    "math mi mn mo ms mtext mspace mrow mfrac msqrt mroot msub msup msubsup munder mover munderover "
    "mtable mtr mtd mstyle mpadded mphantom menclose semantics annotation".split()
)
MATHML_LINKS = {"href", "src", "definitionurl"}
URL_ATTRS = {"href", "src", "action", "poster", "cite", "background", "xlink:href", "srcset"}
CSP_REQUIRED = ("default-src 'none'", "img-src 'self'", "base-uri 'none'")
# form-action 'none', or 'self' on a page with the search box: it is a plain GET form to our own
# search.html, so that it works with JavaScript off, and a form may go nowhere else. No other form
# can be on a page (FORBIDDEN_TAGS; the search box is the exception checked below).
FORM_ACTIONS = ("'none'", "'self'")
SEARCH_ACTION = re.compile(r"^(\.\./){0,2}search\.html$")
SEARCH_FORM = {"class": "search", "role": "search", "method": "get"}  # and an action matching SEARCH_ACTION
SEARCH_INPUT = {"type", "id", "name", "required"}  # the attributes its input may have: type search, name q
# Links between our own pages (archive and its year pages, previous/next day, the feeds) are the only relative URLs.
SITE_LINK = re.compile(
    r"^(\.\./){0,2}((\d{4}-\d{2}-\d{2}/)?(index|papers/[a-z0-9-]{1,60})\.html(#[a-z0-9-]{1,80})?|feed\.xml|papers\.xml|for-you\.xml|archive/\d{4}\.html)$"
)


# The one inline script a page may carry: the packaged keyword filter, identified by its hash.
ALLOWED_SCRIPTS = {
    hashlib.sha256((Path(__file__).parent.parent / "digest" / "templates" / "filter.js").read_bytes()).hexdigest()
}


def _normalize(url: str) -> str:
    url = re.sub(r"[\t\n\r]", "", html.unescape(url)).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08 ")
    head, sep, rest = url.partition(":")
    return head.lower() + sep + rest if sep else url


class _Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.head_children: list[tuple[str, dict]] = []
        self.in_head = False
        self.script: list[str] | None = None  # the text of the <script> being read
        self.math = 0  # depth inside a <math> element
        self.search_box = False  # inside the search box's <form>

    def handle_starttag(self, tag, attrs):
        attrs_d = {k: (v or "") for k, v in attrs}
        if tag == "head":
            self.in_head = True
        elif self.in_head and not self.head_children:
            self.head_children.append((tag, attrs_d))
        if tag == "math" or self.math:
            self._check_math(tag, attrs_d)
        if tag == "script" and not attrs_d:
            self.script = []  # allowed only if its text is an allowlisted script (checked at its end)
        elif self._search_box_part(tag, attrs_d):
            pass
        elif tag in FORBIDDEN_TAGS:
            self.problems.append(f"forbidden element <{tag}>")
        if tag == "meta" and attrs_d.get("http-equiv", "").lower() == "refresh":
            self.problems.append("meta refresh")
        if tag == "link" and "stylesheet" in attrs_d.get("rel", ""):
            self.problems.append("external stylesheet")
        for name, value in attrs_d.items():
            if name.startswith("on") or name in FORBIDDEN_ATTRS:
                self.problems.append(f"<{tag} {name}=...>")
            if name in URL_ATTRS:
                self._check_url(tag, name, value)
        if attrs_d.get("target") == "_blank" and "noopener" not in attrs_d.get("rel", ""):
            self.problems.append(f"target=_blank without noopener: {attrs_d}")
        if (
            tag == "a"
            and _normalize(attrs_d.get("href", "")).startswith("http")
            and "noopener" not in attrs_d.get("rel", "")
        ):
            self.problems.append(f"external link without rel=noopener: {attrs_d.get('href')}")

    def _search_box_part(self, tag, attrs) -> bool:
        """Whether `tag` is the search box's form (a GET form to search.html), or its query field
        or submit button inside it."""
        if tag == "form" and not self.search_box:
            others = {k: v for k, v in attrs.items() if k != "action"}
            self.search_box = others == SEARCH_FORM and bool(SEARCH_ACTION.match(attrs.get("action", "")))
            return self.search_box
        if tag == "input" and self.search_box:
            return attrs.get("type") == "search" and attrs.get("name") == "q" and not set(attrs) - SEARCH_INPUT
        return tag == "button" and self.search_box and attrs == {"type": "submit"}

    def handle_data(self, data):
        if self.script is not None:
            self.script.append(data)

    def _check_math(self, tag, attrs):
        self.math += 1
        if tag not in MATHML:
            self.problems.append(f"<{tag}> inside MathML")
        self.problems += [f"<{tag} {k}=...> inside MathML" for k in attrs if k in MATHML_LINKS or k.startswith("xlink")]

    def handle_endtag(self, tag):
        if self.math:
            self.math -= 1
        if tag == "head":
            self.in_head = False
        if tag == "form":
            self.search_box = False
        if tag == "script" and self.script is not None:
            if hashlib.sha256("".join(self.script).encode()).hexdigest() not in ALLOWED_SCRIPTS:
                self.problems.append("forbidden element <script> (not the allowlisted filter)")
            self.script = None

    def _check_url(self, tag, name, value):
        url = _normalize(value)
        if url.startswith(("http://", "https://")) or (url.startswith("#") and tag == "a"):
            return
        if tag in ("a", "link") and SITE_LINK.match(url):
            return
        if tag == "form" and name == "action" and SEARCH_ACTION.match(url):
            return
        self.problems.append(f"<{tag} {name}={value!r}>: not an absolute http(s) URL")


def assert_safe_html(page: str) -> None:
    """Raise AssertionError listing every invariant `page` breaks."""
    checker = _Checker()
    checker.feed(page)
    checker.close()
    problems = list(checker.problems)
    first = checker.head_children[0] if checker.head_children else ("", {})
    if first[0] != "meta" or first[1].get("http-equiv", "").lower() != "content-security-policy":
        problems.append(f"the CSP meta is not the first element of <head> (found <{first[0]}>)")
    else:
        csp = first[1].get("content", "")
        problems += [f"CSP lacks {d}" for d in CSP_REQUIRED if d not in csp]
        form_action = re.search(r"form-action ([^;]*)", csp)
        if form_action is None or form_action.group(1).strip() not in FORM_ACTIONS:
            problems.append(f"CSP's form-action is not one of {FORM_ACTIONS}")
        problems += [
            f"CSP has {d}, ignored in a meta element" for d in ("frame-ancestors", "sandbox", "report-uri") if d in csp
        ]
    assert not problems, "unsafe page:\n" + "\n".join(problems[:20])
