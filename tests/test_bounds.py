"""Answer bounds: every task's request schema is bounded so its longest answer fits its max_tokens."""

import json

import pytest

from digest.llm.bounds import CHARS_PER_TOKEN, GRAMMAR_MAX_LENGTH, Shape, longest_answer, request_schema, schema_nodes
from digest.llmconfig import DepthConfig, EmbeddedDepthConfig
from digest.models import Commentary, Overview, PaperReview, PaperSummary, ResearchDirections

TASKS = {
    "summary": PaperSummary,
    "review": PaperReview,
    "directions": ResearchDirections,
    "commentary": Commentary,
    "overview": Overview,
}
PINS = {"arxiv_id": "2604.26951", "title": "Hyper Input Convex Neural Networks for Synthetic RNA Sequencing Data"}


def _strings(schema):
    return [n for n in schema_nodes(schema) if n.get("type") == "string"]


def _lists(schema):
    return [n for n in schema_nodes(schema) if n.get("type") == "array"]


@pytest.mark.parametrize("preset", [DepthConfig(), EmbeddedDepthConfig()], ids=["capable", "embedded"])
@pytest.mark.parametrize("grammar", [True, False], ids=["grammar", "hints"])
@pytest.mark.parametrize("task", TASKS)
def test_the_longest_answer_fits_max_tokens(preset, grammar, task):
    depth = getattr(preset, task)
    pins = PINS if "arxiv_id" in TASKS[task].model_fields else {}
    schema = request_schema(TASKS[task].model_json_schema(), Shape.of(depth, pins=pins), grammar)
    assert longest_answer(schema) / CHARS_PER_TOKEN <= depth.max_tokens
    assert all("maxLength" in s or "const" in s for s in _strings(schema))  # no string is unbounded
    assert all(n["maxItems"] <= depth.points for n in _lists(schema))
    if grammar:
        assert all(s.get("maxLength", 0) <= GRAMMAR_MAX_LENGTH for s in _strings(schema))


def test_a_grammar_pins_the_echo_and_offers_the_quotes():
    quotes = ("We show a thing.", "We measure another thing on four benchmarks.")
    shape = Shape.of(EmbeddedDepthConfig().review, pins=PINS, choices={"evidence": quotes})
    schema = request_schema(PaperReview.model_json_schema(), shape, grammar=True)
    assert schema["properties"]["arxiv_id"] == {"type": "string", "const": PINS["arxiv_id"]}
    assert schema["properties"]["title"]["const"] == PINS["title"]
    point = schema["$defs"]["ReviewPoint"]
    assert point["properties"]["evidence"]["enum"] == list(quotes)
    assert "const" not in point["properties"]["title"]  # a point's own title is free text
    assert "evidence_found" not in point["properties"] and "evidence_found" not in point["required"]


def test_without_a_grammar_pins_only_bound_the_echo():
    shape = Shape.of(DepthConfig().review, pins=PINS, choices={"evidence": ("We show a thing.",)})
    schema = request_schema(PaperReview.model_json_schema(), shape, grammar=False)
    assert "const" not in schema["properties"]["title"]
    assert schema["properties"]["title"]["maxLength"] >= len(PINS["title"])
    assert "enum" not in json.dumps(schema)


def test_the_model_schema_is_not_changed():
    before = json.dumps(PaperReview.model_json_schema())
    request_schema(PaperReview.model_json_schema(), Shape.of(DepthConfig().review), grammar=True)
    assert json.dumps(PaperReview.model_json_schema()) == before


def test_a_smaller_shape_halves_points_and_words():
    shape = Shape.of(DepthConfig().review).smaller()
    assert (shape.points, shape.words, shape.max_tokens) == (1, 35, DepthConfig().review.max_tokens)


def test_without_a_shape_grammar_lists_of_strings_are_capped():
    from digest.models import ResearchDirections

    schema = request_schema(ResearchDirections.model_json_schema(), None, grammar=True)
    lists = [p for name, p in schema["properties"].items() if name not in ("arxiv_id", "title")]
    assert len(lists) == 4 and all(p["maxItems"] == 3 for p in lists)
    assert request_schema(ResearchDirections.model_json_schema(), None, grammar=False) == (
        ResearchDirections.model_json_schema()
    )


def test_a_value_json_must_escape_is_bounded_not_pinned():
    title = r"A Note on How to Remove the $\ln\ln T$ Term from the Squint Bound"  # a real demo-day title
    shape = Shape.of(EmbeddedDepthConfig().summary, pins={"arxiv_id": "2604.26926", "title": title})
    schema = request_schema(PaperSummary.model_json_schema(), shape, grammar=True)
    assert schema["properties"]["arxiv_id"]["const"] == "2604.26926"
    assert "const" not in schema["properties"]["title"] and schema["properties"]["title"]["maxLength"] > len(title)
