"""Salvaging a cut-off answer: every cut of real-shaped answers keeps exactly the finished, valid fields."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field, ValidationError

from digest.llm.request import parse_answer
from digest.llm.salvage import merged, missing_fields, rest_schema, salvage
from digest.models import REVIEW_PARTS, Overview, PaperReview, PaperSummary, ResearchDirections, TopicNames

ID = "2604.01234"
TITLE = 'Sparse "Mixture" Routing: {Fast} Inference [v2]'


def _point(n: int) -> dict:
    # Brackets, braces, commas, escaped quotes, a backslash and non-ASCII text inside strings: a cut in
    # them must not read as the end of an object or a list.
    return {
        "title": f"Point {n}: routing [{n}]",
        "text": f'The router\'s top-{n} choice, {{k}} experts, cuts latency by {10 + n}% — a "real" gain, see [1].',
        "evidence": f"Routing to {n} experts reduces latency (Table {n}) at C:\\data scale, naïvely.",
    }


REVIEW = {
    "arxiv_id": ID,
    "title": TITLE,
    **{part: [_point(i + j) for j in range(1 + i % 3)] for i, part in enumerate(REVIEW_PARTS)},
}
DIRECTIONS = {
    "arxiv_id": ID,
    "title": TITLE,
    "direct_extensions": ["Route tokens by [layer] depth, not width.", "Learn {k} per input, with a budget."],
    "novel_directions": ['Treat routing as a "market" of experts.'],
    "unexplored_problems": ["What routing does to calibration, e.g. ECE.", "Failure modes under shift, ]} and all."],
    "potential_applications": ["On-device assistants with 2 GB of memory.", "Batch inference at 10x lower cost."],
}
SUMMARY = {
    "arxiv_id": ID,
    "title": TITLE,
    "summary": "The paper sends each token to a few experts, {not all}, and shows [in 3 tests] it runs 2x faster.",
}
OVERVIEW = {
    "paragraphs": [
        "Routing work dominated today [1], with two papers on sparse experts [2].",
        'In industry, a chip maker\'s {new} accelerator [5] targets the same workloads, per "analysts".',
        "Together they suggest inference cost, not training, is where the race is now [1][5].",
    ]
}
NAMES = {
    "topics": [
        {"number": 1, "title": "Chips", "description": "New accelerators."},
        {"number": 12, "title": "Policy", "description": "Rules for labs."},
    ]
}
ANSWERS = [(PaperReview, REVIEW), (ResearchDirections, DIRECTIONS), (PaperSummary, SUMMARY), (Overview, OVERVIEW)]


class Tally(BaseModel):
    """A schema with numbers at the top level and in a list, where a cut "1" of "12" is still a valid number."""

    total: int
    ids: list[int] = Field(min_length=1)


def _ends(text: str, full: dict) -> dict[str, tuple[int, list[int]]]:
    """Each field's end in `text` (json.dumps of `full`, default separators) and its list items' ends."""
    ends, at = {}, 0
    for name, value in full.items():
        at = text.index(json.dumps(name) + ": ", at) + len(json.dumps(name)) + 2
        items, item_at = [], at + 1
        for item in value if isinstance(value, list) else []:
            item_at += len(json.dumps(item))
            items.append(item_at)
            item_at += 2  # ", "
        at += len(json.dumps(value))
        ends[name] = (at, items)
    return ends


def _expected(cut: int, full: dict, ends: dict, schema: type[BaseModel]) -> dict:
    """What a cut of `cut` characters leaves finished: a string ends at its closing quote, a number only
    when something follows it, a list keeps its finished items when they satisfy the field."""
    kept = {}
    for name, value in full.items():
        end, items = ends[name]
        if not isinstance(value, list):
            if _finished(cut, end, value):
                kept[name] = value
            continue
        done = len(value) if cut >= end else sum(_finished(cut, e, v) for e, v in zip(items, value, strict=True))
        if done and _valid(schema, {**full, name: value[:done]}):
            kept[name] = value[:done]
    return kept


def _finished(cut: int, end: int, value: object) -> bool:
    return cut > end or (cut == end and not isinstance(value, int))


def _valid(schema: type[BaseModel], answer: dict) -> bool:
    try:
        schema.model_validate(answer)
    except ValidationError:
        return False
    return True


def _cuts(text: str, ends: dict) -> list[int]:
    """Every 7th position, and each position just before, at and after a field's or item's end."""
    marks = [end for field_end, items in ends.values() for end in [field_end, *items]]
    return sorted({*range(0, len(text) + 1, 7), *(m + d for m in marks for d in (-1, 0, 1) if m + d <= len(text))})


@pytest.mark.parametrize(
    ("schema", "full"),
    [*ANSWERS, (TopicNames, NAMES), (Tally, {"total": 12, "ids": [3, 45]})],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_every_cut_keeps_exactly_the_finished_valid_fields(schema, full):
    text = json.dumps(full)
    ends = _ends(text, full)
    for cut in _cuts(text, ends):
        assert salvage(text[:cut], schema) == _expected(cut, full, ends, schema), f"cut at {cut}: {text[:cut][-40:]!r}"


@pytest.mark.parametrize(("schema", "full"), ANSWERS, ids=lambda x: getattr(x, "__name__", ""))
def test_kept_and_missing_fields_cover_the_schema_and_merge_to_the_answer(schema, full):
    text = json.dumps(full)
    required = [name for name, field in schema.model_fields.items() if field.is_required()]
    for cut in range(0, len(text) + 1, 7):
        kept = salvage(text[:cut], schema)
        missing = missing_fields(kept, schema)
        assert missing == [name for name in required if name not in kept]
        assert set(kept) <= set(required)
        rest = rest_schema(schema, missing).model_validate({name: full[name] for name in missing})
        assert merged(kept, rest, schema) == schema.model_validate({**full, **kept})
    whole = salvage(text, schema)
    assert whole == full and missing_fields(whole, schema) == []
    assert merged(whole, rest_schema(schema, [])(), schema) == schema.model_validate(full)


@pytest.mark.parametrize(("schema", "full"), ANSWERS, ids=lambda x: getattr(x, "__name__", ""))
def test_pretty_printed_answers_keep_growing_prefixes_of_the_answer(schema, full):
    # Newlines and indentation between tokens, raw non-ASCII: what a model that pretty-prints writes.
    text = json.dumps(full, indent=2, ensure_ascii=False)
    before: dict = {}
    for cut in range(len(text) + 1):
        kept = salvage(text[:cut], schema)
        for name, value in kept.items():
            assert value == (full[name][: len(value)] if isinstance(value, list) else full[name]), (cut, name)
        for name, value in before.items():  # a longer cut keeps at least as much
            assert name in kept and len(kept[name]) >= len(value) if isinstance(value, list) else name in kept, cut
        before = kept
    assert before == full


def test_a_cut_inside_a_think_block_or_a_code_fence():
    text = json.dumps(REVIEW)
    wrapper = "<think>The answer needs {six parts}, each [a list].</think>\n```json\n"
    for cut in range(0, len(text), 7):
        assert salvage(wrapper + text[:cut], PaperReview) == salvage(text[:cut], PaperReview)
    assert salvage(wrapper[:30], PaperReview) == {}  # cut before the plan closes: no answer yet
    assert salvage(wrapper + text + "\n```", PaperReview) == REVIEW
    assert salvage(wrapper + text + "\n``", PaperReview) == REVIEW  # cut inside the closing fence


def test_tex_is_put_back_like_parse_answer_does():
    # A model writes \beta and \frac with one backslash: JSON reads backspace + "eta", form feed + "rac".
    text = '{"arxiv_id": "2604.01234", "title": "Tuning \\beta", "summary": "We set \\beta = \\frac{1}{2} and tune \\nabla f."'
    kept = salvage(text, PaperSummary)
    assert kept == parse_answer(text + "}", PaperSummary).model_dump()
    assert kept["summary"] == "We set \\beta = \\frac{1}{2} and tune \\nabla f."
    assert kept["title"] == "Tuning \\beta"


def test_raw_newlines_inside_strings_are_read_like_parse_answer_does():
    # Grammar-constrained servers (llama.cpp) may write a raw newline inside a JSON string.
    text = json.dumps(OVERVIEW).replace("[2].", "[2].\nMore on that below.")
    assert "\n" in text
    assert salvage(text, Overview) == parse_answer(text, Overview).model_dump()
    first = parse_answer(text, Overview).paragraphs[0]
    assert first.endswith("[2].\nMore on that below.")
    assert salvage(text[: text.index("In industry") + 5], Overview) == {"paragraphs": [first]}


@pytest.mark.parametrize(
    "text",
    ["", "I cannot help with that.", "{not json at all", '["a", "b"]', '{"arxiv_id": 5, "title": [1]}', "<think>"],
)
def test_nothing_usable_gives_an_empty_dict(text):
    assert salvage(text, PaperSummary) == {}


def test_the_rest_schema_asks_for_the_missing_fields_with_their_descriptions_and_bounds():
    rest = rest_schema(PaperReview, ["overall_evaluation", "weaknesses"])
    schema, whole = rest.model_json_schema(), PaperReview.model_json_schema()
    assert rest.__name__ == "PaperReviewRest" and schema["title"] == "PaperReviewRest"
    assert schema["required"] == ["weaknesses", "overall_evaluation"]  # schema order
    assert schema["properties"] == {name: whole["properties"][name] for name in ("weaknesses", "overall_evaluation")}
    assert schema["properties"]["weaknesses"]["minItems"] == 1
    assert schema["$defs"]["ReviewPoint"] == whole["$defs"]["ReviewPoint"]
    with pytest.raises(ValidationError, match="at least 1 item"):
        rest.model_validate({"weaknesses": [], "overall_evaluation": REVIEW["overall_evaluation"]})
    summary_rest = rest_schema(PaperSummary, ["summary"])
    with pytest.raises(ValidationError, match="at least 20 characters"):
        summary_rest.model_validate({"summary": "Too short."})


def test_bad_field_names_and_incomplete_merges_say_what_is_wrong():
    with pytest.raises(ValueError, match="PaperSummary has no field 'abstract'"):
        rest_schema(PaperSummary, ["summary", "abstract"])
    rest = rest_schema(PaperSummary, ["summary"]).model_validate({"summary": SUMMARY["summary"]})
    with pytest.raises(ValidationError, match="arxiv_id"):
        merged({"title": TITLE}, rest, PaperSummary)
