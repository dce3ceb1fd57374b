"""The W3C Feed Validator's rules for Atom 1.0 that apply to our feeds, for the tests.

The validator (github.com/w3c/feedvalidator, MIT License; the code behind the W3C Feed Validation
Service) is Python 3 and runs offline, but it is not on the package index and cannot be installed
from its repository without the network, so its rules are encoded here: each check names the
validator's source file and reports the validator's message name (its class in logging.py) and
level (Error: the feed is invalid; Warning: the service's "recommendations"). Checked against the
validator itself on the feeds of tests/test_atom.py.

Not encoded: HTML content (we write text constructs only), canonical-URI normalisation
(NonCanonicalURI), the entity heuristics of ContainsUndeclaredHTML, and extensions. The end-tag
rule is stricter than the validator's: any `</name>` counts, not only names in its list of HTML tags.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlparse
from xml.etree import ElementTree as ET

ATOM = "{http://www.w3.org/2005/Atom}"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"

# validators.py, class rfc2396: the syntax of URNs, urn:uuid: and tag: URIs (RFC 2141, 4122, 4151).
URN = re.compile(r"^[Uu][Rr][Nn]:[a-zA-Z0-9][a-zA-Z0-9-]{1,31}:([a-zA-Z0-9()+,\.:=@;$_!*'\-]|%[0-9A-Fa-f]{2})+$")
UUID_URN = re.compile(
    r"^[Uu][Rr][Nn]:[Uu][Uu][Ii][Dd]:[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$"
)
TAG = re.compile(
    r"^tag:([a-z0-9\-\._]+?@)?[a-z0-9\.\-]+?,\d{4}(-\d{2}(-\d{2})?)?:[0-9a-zA-Z;/\?:@&=+$\.\-_!~*'\(\)%,]*"
    r"(#[0-9a-zA-Z;/\?:@&=+$\.\-_!~*'\(\)%,]*)?$"
)
# validators.py, class rfc2396_full: an absolute URI (ids, category schemes).
FULL_URI = re.compile(r"[a-zA-Z][0-9a-zA-Z+\-\.]*:(//)?[0-9a-zA-Z;/?:@&=+$\.\-_!~*'()%,#]+$")
# validators.py, class rfc3339: atom:updated and atom:published.
RFC3339 = re.compile(r"^\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*)?(Z|([+-]\d\d:\d\d))$")
END_TAG = re.compile(r"</(\w+)>")  # validators.py, class nonhtml (htmlEndTag_re)
# link.py: the self link's types that are feeds.
FEED_TYPES = ("application/atom+xml", "application/rss+xml", "application/rdf+xml")


class Event(NamedTuple):
    """One problem: the validator's level ("error" or "warning"), message name and where."""

    level: str
    name: str
    where: str


class _Checker:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def log(self, level: str, name: str, where: str) -> None:
        self.events.append(Event(level, name, where))

    def uri(self, value: str, where: str) -> None:
        """validators.py, rfc2396.validate as canonicaluri (feed.py and entry.py, do_id) runs it."""
        scheme = value.split(":")[0].lower()
        if value != value.strip():
            self.log("error", "UnexpectedWhitespace", where)  # nows
        if scheme == "tag":
            if not TAG.match(value):
                self.log("error", "InvalidTAG", where)
        elif scheme == "urn":
            if value.lower().startswith("urn:uuid:") and not UUID_URN.match(value):
                self.log("error", "InvalidUUID", where)
            elif not URN.match(value):
                self.log("error", "InvalidURN", where)
        elif not FULL_URI.match(value) or scheme in ("http", "https", "ftp") and not re.match(r"^\w+://[^/].*", value):
            self.log("error", "InvalidFullLink", where)

    def required(self, element: ET.Element, names: tuple[str, ...], where: str) -> None:
        """feed.py validate_metadata and entry.py validate: MissingElement."""
        for name in names:
            if element.find(ATOM + name) is None:
                self.log("error", "MissingElement", f"{where} {name}")

    def times(self, element: ET.Element, where: str) -> None:
        for name in ("updated", "published"):
            for time in element.findall(ATOM + name):
                if not RFC3339.match(time.text or ""):
                    self.log("error", "InvalidRFC3339Date", f"{where} {name}")

    def text(self, element: ET.Element, where: str) -> None:
        """content.py textConstruct, type "text": no HTML (ContainsUndeclaredHTML), not blank (NotBlank)."""
        for name in ("title", "subtitle", "summary", "rights"):
            for construct in element.findall(ATOM + name):
                if construct.get("type", "text") != "text":
                    self.log("error", "NotTextConstruct", f"{where} {name}")  # ours: we write text only
                value = construct.text or ""
                if END_TAG.search(value):
                    self.log("warning", "ContainsUndeclaredHTML", f"{where} {name}")
                if not value:
                    self.log("warning", "NotBlank", f"{where} {name}")

    def links(self, element: ET.Element, where: str, top: bool) -> list[ET.Element]:
        """link.py (RelativeSelf, SelfNotAtom) and feed.py / entry.py (DuplicateAtomLink)."""
        links = element.findall(ATOM + "link")
        alternates = set()
        for link in links:
            rel, href = link.get("rel", "alternate"), link.get("href", "")
            if rel == "self" and top:
                if not urlparse(href).netloc and not urlparse(element.get(XML_BASE, "")).netloc:
                    self.log("warning", "RelativeSelf", where)
                if link.get("type") and link.get("type", "").split(";")[0] not in FEED_TYPES:
                    self.log("warning", "SelfNotAtom", where)
            if rel == "alternate":
                key = (link.get("type", ""), link.get("hreflang", ""))
                if key in alternates:
                    self.log("error", "DuplicateAtomLink", where)
                alternates.add(key)
        return links

    def categories(self, element: ET.Element, where: str) -> None:
        """category.py: a term is required, a scheme is an absolute IRI."""
        for category in element.findall(ATOM + "category"):
            if not category.get("term"):
                self.log("error", "MissingAttribute", f"{where} category term")
            if category.get("scheme") is not None:
                self.uri(category.get("scheme", ""), f"{where} category scheme")

    def authors(self, element: ET.Element, where: str) -> None:
        """author.py: an author has a name."""
        for author in element.findall(ATOM + "author"):
            if not (author.findtext(ATOM + "name") or "").strip():
                self.log("error", "MissingElement", f"{where} author name")


def atom_problems(document: str | bytes) -> list[Event]:
    """What the validator reports on the Atom feed `document` (at the level "AA" its online service
    shows: errors and warnings), by the rules this module encodes. Raises ET.ParseError for a
    document that is not XML."""
    root = ET.fromstring(document)
    check = _Checker()
    if root.tag != ATOM + "feed":
        check.log("error", "UndefinedElement", root.tag)
        return check.events
    check.required(root, ("title", "id", "updated"), "feed")
    for feed_id in root.findall(ATOM + "id"):
        check.uri(feed_id.text or "", "feed id")
    check.times(root, "feed")
    check.text(root, "feed")
    check.authors(root, "feed")
    check.categories(root, "feed")
    if not any(link.get("rel") == "self" for link in check.links(root, "feed", top=True)):
        check.log("warning", "MissingSelf", "feed")  # feed.py validate_metadata
    seen_entry, ids, updated = False, set(), set()
    for child in root:
        if child.tag != ATOM + "entry":
            if seen_entry:
                check.log("error", "MisplacedMetadata", child.tag)  # feed.py metadata
            continue
        seen_entry = True
        where = f"entry {child.findtext(ATOM + 'id')}"
        check.required(child, ("title", "id", "updated"), where)
        if child.find(ATOM + "author") is None and root.find(ATOM + "author") is None:
            check.log("error", "MissingElement", f"{where} author")  # entry.py: RFC 4287 4.1.1
        check.authors(child, where)
        for entry_id in child.findall(ATOM + "id"):
            check.uri(entry_id.text or "", f"{where} id")
            if entry_id.text in ids:
                check.log("warning", "DuplicateEntries", where)  # entry.py do_id: unique('id')
            ids.add(entry_id.text)
        for time in child.findall(ATOM + "updated"):
            if time.text in updated:
                check.log("warning", "DuplicateUpdated", where)  # entry.py do_updated: unique('updated')
            updated.add(time.text)
        check.times(child, where)
        check.text(child, where)
        check.categories(child, where)
        links = check.links(child, where, top=False)
        if child.find(ATOM + "content") is None:  # entry.py validate: what an entry without content needs
            if child.find(ATOM + "summary") is None:
                check.log("warning", "MissingTextualContent", where)
            if not any(link.get("rel", "alternate") == "alternate" for link in links):
                check.log("error", "MissingContentOrAlternate", where)
    return check.events


def names(events: list[Event], level: str | None = None) -> set[str]:
    """The message names of `events` (of `level` only, when given)."""
    return {e.name for e in events if level is None or e.level == level}
