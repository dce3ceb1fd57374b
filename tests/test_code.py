"""A paper's code repository: found in its comment or abstract, else in Hugging Face's listing."""

import pytest
from conftest import DATA, DEMO_DATE, DEMO_SNAPSHOT

from digest.fetch.arxiv_parse import parse_api
from digest.fetch.code import repository_url, with_code
from digest.fetch.upvotes import parse_daily_papers

DEMO_PAPERS = {p.arxiv_id: p for p in parse_api((DEMO_SNAPSHOT / DEMO_DATE / "arxiv-api.body").read_bytes())}
TESTING = {p.arxiv_id: p for p in parse_api((DATA / "arxivpy_q_testing_s0_m100_cfe7536492ca.xml").read_bytes())}


def test_recorded_abstracts_give_their_repository_and_nothing_else():
    found = {p.arxiv_id: p.code_url for p in with_code([*DEMO_PAPERS.values(), *TESTING.values()]) if p.code_url}
    assert found == {  # the only repository links in these 120 recorded abstracts and comments
        "2604.26951": "https://github.com/PKU-YuanGroup/TIDE",
        "1706.00679": "https://github.com/ydecastro/super-resolution-testing",
    }
    # "https://github.com/ClawGym." names an organization, not a repository; a github.io site is not code
    assert "github.com/ClawGym" in DEMO_PAPERS["2604.26904"].summary
    assert "opendatalab.github.io" in TESTING["2507.10541"].summary


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("Code: https://github.com/o/r.git.", "https://github.com/o/r"),
        ("(see https://github.com/o/r/tree/main/src)", "https://github.com/o/r"),
        ("https://gitlab.com/group/sub/proj/-/blob/main/x.py", "https://gitlab.com/group/sub/proj"),
        ("weights at https://huggingface.co/org/model-7b/tree/main", "https://huggingface.co/org/model-7b"),
        ("demo https://huggingface.co/spaces/org/demo, data https://x", "https://huggingface.co/spaces/org/demo"),
        ("https://huggingface.co/blog/post then https://github.com/o/r", "https://github.com/o/r"),
        ("https://github.com/features/copilot", None),
        ("https://huggingface.co/papers/2604.26951", None),
        ("https://huggingface.co/spaces/only-owner", None),
        ("https://github.com/o/r&lt;/a&gt;", "https://github.com/o/r"),
        ("no link at all", None),
    ],
)
def test_a_repository_url_is_normalized_and_site_pages_are_not_code(text, url):
    assert repository_url(text) == url


def test_the_comment_comes_first_then_the_abstract_then_the_listing():
    paper = DEMO_PAPERS["2604.26951"]
    commented = paper.model_copy(update={"comment": "Code: https://gitlab.com/a/b"})
    listed = {paper.arxiv_id: "https://github.com/other/one"}
    assert with_code([commented], listed)[0].code_url == "https://gitlab.com/a/b"
    assert with_code([paper], listed)[0].code_url == "https://github.com/PKU-YuanGroup/TIDE"
    plain = DEMO_PAPERS["2604.26904"]
    assert with_code([plain], {plain.arxiv_id: "https://github.com/x/y"})[0].code_url == "https://github.com/x/y"


def test_hugging_face_listing_gives_its_github_repositories():
    listed = parse_daily_papers((DATA / "newsassistant_hf_daily_papers.json").read_bytes())
    assert {i: e.code_url for i, e in listed.items()} == {
        "2607.26654": "https://github.com/desBugger/constitutional-mt",
        "2607.28229": "https://github.com/petroni-lab/librarian",
        "2607.27851": None,
    }
