"""What can be kept of an answer cut off at max_tokens (finish_reason "length"), and the request for the rest.

A cut-off answer is a prefix of a JSON object. `salvage` keeps its top-level fields that are finished and
valid on their own; `missing_fields` and `rest_schema` say what to ask the model for once more, with its own
JSON schema; `merged` puts the two answers together as the task's model.

The partial parse is pydantic_core's `from_json(allow_partial=True)`: it returns what the text holds so far
and leaves out a string cut in the middle (its "trailing-strings" mode would keep the cut string: not used,
a cut title or quote is not the model's text). It cannot say which objects and arrays the text closed, nor
whether a number at the very end was cut ("1" of "12"). So the cut is judged by closing the parsed value's
last path (the top object, its last field's value, that value's last item, ...) with one more '}' or ']' at
a time until the strict parser accepts the text: the containers that needed closing are the unfinished ones.
When no closing is accepted (the cut is inside a string, a key or a literal), the text is judged at its last
comma if what follows it adds nothing to the parse; otherwise every container on the path counts as
unfinished, which can only drop a finished item, never keep an unfinished one.

Every kept value is decoded JSON (dicts, lists, strings, numbers) cleaned like `parse_answer` cleans an
answer (digest.hygiene.clean_value: TeX put back, controls removed), and valid for its field: a list keeps
its finished items, and only when they satisfy the whole field (min_length, each item's schema).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError, create_model
from pydantic_core import from_json

from digest.hygiene import THINK, clean_value
from digest.llm.request import mend_escapes

T = TypeVar("T", bound=BaseModel)

# A JSON string, finished or cut at the end (possibly right after a backslash): strings are where a
# grammar-constrained server writes raw newlines, which the strict JSON grammar of from_json rejects.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.S)
_CONTROL = re.compile("[\x00-\x1f]")
_FENCE_END = re.compile(r"\s*`+\s*\Z")  # a closing code fence, or the part of one before the cut


def salvage(text: str, schema: type[BaseModel]) -> dict[str, object]:
    """The top-level fields of the cut-off answer `text` that are finished and valid as fields of `schema`,
    by field name in schema order, each value decoded JSON cleaned by clean_value (rules in the module
    docstring). <think> blocks are dropped and a code fence around the object is ignored, as
    digest.llm.request.extract_json does. {} when nothing usable is there (no object, not JSON). Never raises.
    """
    body = _json_body(text)
    data = _partial(body)
    finished = _finished_fields(data, _unfinished_depth(body, data)) if data else {}
    cleaned = {name: clean_value(finished[name]) for name in schema.model_fields if name in finished}
    return {name: value for name, value in cleaned.items() if _valid(schema, name, value)}


def missing_fields(salvaged: dict[str, object], schema: type[BaseModel]) -> list[str]:
    """The required fields of `schema` that `salvaged` (as `salvage` returns it) lacks, in schema order."""
    return [name for name, field in schema.model_fields.items() if field.is_required() and name not in salvaged]


def rest_schema(schema: type[BaseModel], fields: list[str]) -> type[BaseModel]:
    """A model named `<schema>Rest` with only `fields` of `schema`, in schema order, each with its annotation,
    description and constraints (so its JSON schema asks for exactly those fields), and `schema`'s config.
    Raises ValueError naming any of `fields` that `schema` does not have."""
    unknown = [name for name in fields if name not in schema.model_fields]
    if unknown:
        raise ValueError(f"{schema.__name__} has no field {', '.join(map(repr, unknown))}")
    chosen: dict[str, Any] = {
        name: (field.annotation, field) for name, field in schema.model_fields.items() if name in fields
    }
    return create_model(f"{schema.__name__}Rest", __config__=schema.model_config, **chosen)


def merged(salvaged: dict[str, object], rest_value: BaseModel, schema: type[T]) -> T:
    """The whole answer: the fields `salvage` kept and those of `rest_value` (an instance of
    `rest_schema(schema, missing_fields(salvaged, schema))`, the model's answer for the rest), validated as
    `schema`. Raises pydantic.ValidationError naming what is wrong when the two do not make a valid `schema`
    (a required field in neither)."""
    return schema.model_validate({**salvaged, **rest_value.model_dump()})


def _json_body(text: str) -> str:
    """The answer's JSON object as far as it goes: <think> blocks dropped, from the first '{' to the end
    without a closing code fence, raw control characters in strings escaped; "" when there is no '{'."""
    unwrapped = THINK.sub("", text)
    start = unwrapped.find("{")
    if start < 0:
        return ""
    body = mend_escapes(_FENCE_END.sub("", unwrapped[start:]))
    return _STRING.sub(lambda string: _CONTROL.sub(_escape, string.group()), body)


def _escape(control: re.Match) -> str:
    """The JSON escape of one control character (newline: the two characters backslash and n)."""
    return json.dumps(control.group())[1:-1]


def _partial(body: str) -> dict:
    """The partial parse of `body`: {} when it is not a (prefix of a) JSON object."""
    try:
        data = from_json(body, allow_partial=True)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _unfinished_depth(body: str, data: dict) -> int:
    """How many values along the last path of `data` (the partial parse of `body`) the cut left unfinished:
    0 for a whole object, 1 when only the top object is open, 2 when its last field's value is unfinished
    too, 3 when that value's last item is, and so on."""
    containers = [node for node in _last_path(data) if isinstance(node, dict | list)]
    open_count = _open_count(body, containers)
    if open_count is not None:
        # Closing made it JSON, so the text ends after a value or inside a number; "1" may be "12".
        return open_count + int(body[-1].isdigit())
    comma = body.rfind(",")
    if comma > 0 and _partial(body[:comma]) == data:  # only a key, a colon or a cut string follow it
        open_count = _open_count(body[:comma], containers)
    return len(containers) if open_count is None else open_count


def _last_path(data: dict) -> list[object]:
    """`data`, its last value, that value's last value or item, and so on down to a scalar or empty container."""
    path: list[object] = [data]
    node = data
    while isinstance(node, dict | list) and node:
        node = list(node.values())[-1] if isinstance(node, dict) else node[-1]
        path.append(node)
    return path


def _open_count(text: str, containers: list[dict | list]) -> int | None:
    """How many of `containers` (the top one first) `text` leaves open: the n for which closing the n
    outermost makes `text` strict JSON; None when no n does (the text ends inside a string, key or literal)."""
    for count in range(len(containers) + 1):
        closing = "".join("}" if isinstance(node, dict) else "]" for node in reversed(containers[:count]))
        try:
            from_json(text + closing)
        except ValueError:
            continue
        return count
    return None


def _finished_fields(data: dict, unfinished: int) -> dict:
    """`data` (a partial parse) without what the cut left unfinished (`unfinished` as `_unfinished_depth`
    counts it): its last field when that is an object or a number cut in the middle, or that list's last item
    (a list the cut left with no finished item says nothing yet, though an empty list may be valid)."""
    if unfinished < 2:
        return data
    finished = dict(data)
    last = next(reversed(finished))
    value = finished.pop(last)
    items = value[:-1] if isinstance(value, list) and unfinished >= 3 else value
    if isinstance(items, list) and items:
        finished[last] = items
    return finished


def _valid(schema: type[BaseModel], name: str, value: object) -> bool:
    try:
        _field_model(schema, name).model_validate({name: value})
    except ValidationError:
        return False
    return True


@cache
def _field_model(schema: type[BaseModel], name: str) -> type[BaseModel]:
    """The one-field model that checks a salvaged value of field `name` (built once per field)."""
    return rest_schema(schema, [name])
