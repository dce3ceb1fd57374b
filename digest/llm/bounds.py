"""The bounds of an answer: the JSON schema a request asks for, sized so a bounded answer ends.

A task's pydantic model says what an answer holds; its `Shape` (from the task's depth settings,
config.Depth) says how much: at most `points` items per list and `words` words per free-text string,
within `max_tokens` completion tokens. `request_schema` writes those bounds into the schema as
maxItems/maxLength. llama.cpp's server compiles the schema into a grammar, so there a bounded answer
always closes; OpenAI-compatible providers get the same limits in the prompt's instructions (the
prompts state points and words) and in the schema as hints.

Where the server compiles the schema into a grammar (`grammar=True`), a Shape may also pin a field to
one value (`pins`: the echoed arXiv id and title, which a small model otherwise garbles) and offer a
field a choice of values (`choices`: evidence quotes among the sentences of the text the model read).
Fields a check writes (readOnly in the model's schema, e.g. `evidence_found`) are never asked for.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

from digest.llmconfig import Depth

# A conservative bound for English prose inside JSON, which tokenizers split more finely than plain text.
CHARS_PER_TOKEN = 3.5
CHARS_PER_WORD = 7  # a word and its space, generously
TITLE_CHARS = 60  # a point's title: a few words
KEY_OVERHEAD = 8  # quotes, colon, comma and spaces around a property name
# llama-cpp-python's grammar compiler expands maxLength into nested rules and fails the request
# (the server drops the connection) somewhere past 1,000 characters; measured with 0.3.36.
GRAMMAR_MAX_LENGTH = 900
MIN_SLACK = 10  # a scaled-down string keeps at least minLength + this many characters
PIN_SLACK = 40  # characters beyond a pinned value a provider's answer may use (an "arXiv:" prefix, a version)
LIST_ITEMS = 3  # items per list of strings when a request has no Shape (topic plans)


@dataclass(frozen=True)
class Shape:
    """How long a task's answer may be, and what a grammar may pin or offer.

    `max_tokens`: the completion's token cap; `points`: maxItems of every list; `words`: words per
    free-text string; `pins`: top-level property name -> the value it must echo (a const in a grammar,
    else a length bound); `choices`: property name -> the values allowed (grammar-constrained servers only).
    """

    max_tokens: int
    points: int
    words: int
    pins: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, depth: Depth, **grammar) -> Shape:
        """The Shape of a task's depth settings, with `pins`/`choices` when given."""
        return cls(max_tokens=depth.max_tokens, points=depth.points, words=depth.words, **grammar)

    def smaller(self) -> Shape:
        """The shape of a second try after a cut-off: half the points and words, the same max_tokens."""
        return replace(self, points=max(1, self.points // 2), words=max(5, self.words // 2))

    @property
    def text_chars(self) -> int:
        """The maxLength of a free-text string, in characters."""
        return self.words * CHARS_PER_WORD


def request_schema(schema: dict, shape: Shape | None, grammar: bool) -> dict:
    """`schema` (a pydantic model's JSON schema) as a request asks for it: readOnly properties left
    out, and bounded by `shape` (maxItems on lists, maxLength on strings, scaled down together until
    the longest answer fits `shape.max_tokens`; pins and choices when `grammar`). Without a shape,
    grammar requests still get maxItems on lists of strings. `schema` itself is not changed."""
    bounded = copy.deepcopy(schema)
    _drop_read_only(bounded)
    if shape is None:
        if grammar:
            for node in schema_nodes(bounded):
                if node.get("type") == "array" and node.get("items", {}).get("type") == "string":
                    node.setdefault("maxItems", LIST_ITEMS)
        return bounded
    _pin(bounded, shape, grammar)
    free = _bound(bounded, shape, grammar)
    _fit(bounded, free, shape.max_tokens)
    return bounded


def schema_nodes(node: object) -> Iterator[dict]:
    """Every object of a JSON schema (`node`), depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from schema_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from schema_nodes(value)


def _objects(schema: dict) -> Iterator[dict]:
    """The object schemas of `schema`: the root and every definition."""
    yield schema
    yield from schema.get("$defs", {}).values()


def _drop_read_only(schema: dict) -> None:
    for obj in _objects(schema):
        props = obj.get("properties", {})
        for name in [n for n, p in props.items() if p.get("readOnly")]:
            del props[name]
            if name in obj.get("required", []):
                obj["required"].remove(name)


def _pin(schema: dict, shape: Shape, grammar: bool) -> None:
    """Pinned properties of the answer (top level) become a const, or without a grammar (or for a value
    JSON must escape) a string just long enough for the value; offered ones (at any level) an enum, with a grammar only."""
    props = schema.get("properties", {})
    for name, value in shape.pins.items():
        if name in props:
            # llama-cpp-python's grammar writes a const's backslashes and quotes unescaped (a title with TeX,
            # "$\\ln\\ln T$", came back as invalid JSON): such a value is bounded, not pinned.
            pinned = grammar and json.dumps(value, ensure_ascii=False)[1:-1] == value
            props[name] = (
                {"type": "string", "const": value} if pinned else {**props[name], "maxLength": len(value) + PIN_SLACK}
            )
    if not grammar:
        return
    for obj in _objects(schema):
        props = obj.get("properties", {})
        for name, values in shape.choices.items():
            if name in props and values:
                props[name] = {"type": "string", "enum": list(values)}


def _bound(schema: dict, shape: Shape, grammar: bool) -> list[dict]:
    """maxItems on every list and maxLength on every string (a title's few words, else the shape's
    words, within the model's own maxLength: an evidence quote is no longer than a point); returns
    the strings, which _fit may shorten."""
    free = []
    for obj in _objects(schema):
        for name, prop in obj.get("properties", {}).items():
            if prop.get("type") == "array":
                prop["maxItems"] = min(prop.get("maxItems", shape.points), shape.points)
                prop.setdefault("minItems", 1)
            target = prop.get("items", prop) if prop.get("type") == "array" else prop
            if target.get("type") != "string" or "const" in target or "enum" in target:
                continue
            if name not in shape.pins or obj is not schema:
                chars = TITLE_CHARS if name == "title" else shape.text_chars
                target["maxLength"] = min(target.get("maxLength", chars), chars)
                free.append(target)
            if grammar:
                target["maxLength"] = min(target["maxLength"], GRAMMAR_MAX_LENGTH)
    return free


def _fit(schema: dict, free: list[dict], max_tokens: int) -> None:
    """Shorten the free-text strings by one factor until the longest answer fits `max_tokens`."""
    budget = max_tokens * CHARS_PER_TOKEN
    worst = longest_answer(schema)
    if worst <= budget:
        return
    for node in free:  # a string's share of the worst case is its maxLength times its repeats
        node["_full"] = node["maxLength"]
        node["maxLength"] = 0
    fixed = longest_answer(schema)
    for node in free:
        node["maxLength"] = node.pop("_full")
    factor = max(0.0, (budget - fixed) / max(1, worst - fixed))
    for node in free:
        floor = node.get("minLength", 0) + MIN_SLACK
        node["maxLength"] = max(floor, min(node["maxLength"], math.floor(node["maxLength"] * factor)))


def longest_answer(schema: dict, node: dict | None = None) -> int:
    """The characters of the longest JSON answer `schema` allows (its strings at maxLength, its lists
    at maxItems); an unbounded string or list counts as 1,000 characters or 3 items."""
    node = schema if node is None else node
    ref = node.get("$ref")
    if ref:
        return longest_answer(schema, schema["$defs"][ref.rsplit("/", 1)[1]])
    kind = node.get("type")
    if "const" in node:
        return len(node["const"]) + 2
    if "enum" in node:
        return max(len(str(v)) for v in node["enum"]) + 2
    if kind == "object":
        props = node.get("properties", {})
        return 2 + sum(len(k) + KEY_OVERHEAD + longest_answer(schema, v) for k, v in props.items())
    if kind == "array":
        return 2 + node.get("maxItems", 3) * (longest_answer(schema, node.get("items", {})) + 2)
    if kind == "string":
        return node.get("maxLength", 1000) + 2
    return 12  # numbers, booleans, null
