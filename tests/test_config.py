"""sources.yaml validation and the environment's overrides of the LLM endpoint."""

import datetime as dt
import json

import httpx
import pytest
from conftest import DATA, DEMO_SNAPSHOT, ROOT

from digest.cli import main
from digest.config import (
    EMBEDDED_MODEL,
    ArxivConfig,
    Config,
    ConfigError,
    LLMConfig,
    PapersConfig,
    check_prices,
    host_port,
    load_config,
    resolve_endpoint,
)
from digest.fetch.arxiv_parse import parse_api, parse_rss
from digest.fetch.oai import parse_list_records


def _load(tmp_path, text: str) -> Config:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_default_configuration_is_complete():
    cfg = load_config(ROOT / "sources.yaml")
    assert cfg.arxiv.categories == ["cs.AI", "cs.CL", "cs.LG"]
    assert len(cfg.news.feeds) >= 8
    kinds = {f.kind for f in cfg.news.feeds}
    assert kinds == {"news", "comment"}
    names = " ".join(f.name for f in cfg.news.feeds)
    assert "Hacker News" in names and "r/MachineLearning" in names and "Google News" in names
    assert len(cfg.llm.commentary.drafters) >= 2


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("papers:\n  maxx: 3\n")
    with pytest.raises(ConfigError, match=r"sources\.yaml:2: papers\.maxx: unknown setting"):
        load_config(path)


def test_wrong_type_is_named(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("news:\n  feeds:\n    - {name: a, url: 'https://a.example', kind: rumour}\n")
    with pytest.raises(ConfigError, match=r"sources\.yaml:3: news\.feeds\[1\]\.kind: Input should be 'news' or 'comm"):
        load_config(path)


def test_not_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("arxiv: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "arxiv:\n  holidays: [2026-11-26, 2026-02-30]\n",
            r"sources\.yaml:2: arxiv\.holidays\[2\]: Input should be a valid date or datetime, day value is outside",
        ),
        ("papers:\n  max: 0b_\n", r"sources\.yaml:2: papers\.max: Input should be a valid integer"),
        ("papers:\n  max: !!int many\n", r"sources\.yaml:2: papers\.max: Input should be a valid integer"),
        (
            "news:\n  window_days: !!float soon\n",
            r"sources\.yaml:2: news\.window_days: Input should be a valid integer",
        ),
        # a section that is not a mapping says so, without naming an internal class
        ("papers: 3\n", r"sources\.yaml:1: papers: expected a mapping of settings$"),
        ("- cs.AI\n", r"sources\.yaml:1: \(top level\): expected a mapping of settings$"),
        (
            "llm:\n  prices:\n    gpt-4o: 2.5\n",
            r"sources\.yaml:3: llm\.prices\.gpt-4o: expected a mapping of settings$",
        ),
        ("llm:\n  prices: [gpt-4o]\n", r"sources\.yaml:2: llm\.prices: expected a mapping$"),
        # categories must be arXiv categories
        ("arxiv:\n  categories: []\n", r"sources\.yaml:2: arxiv\.categories: List should have at least 1 item"),
        ("arxiv:\n  categories: [cs.AI, cs.ai]\n", r"arxiv\.categories\[2\]: 'cs\.ai' is not an arXiv category"),
        ("arxiv:\n  categories: [cs]\n", r"arxiv\.categories\[1\]: 'cs' is not an arXiv category"),
        ("arxiv:\n  categories: ['cs.AI OR cs.LG']\n", r"arxiv\.categories\[1\]: 'cs\.AI OR cs\.LG' is not an arXiv"),
        ("arxiv:\n  categories: ['cs.*']\n", r"arxiv\.categories\[1\]: 'cs\.\*' is not an arXiv category"),
    ],
)
def test_a_wrong_value_is_named(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, text)


def test_holidays_are_dates(tmp_path):
    cfg = _load(tmp_path, "arxiv:\n  holidays: [2026-11-26, '2026-12-25']\n")
    assert cfg.arxiv.holidays == [dt.date(2026, 11, 26), dt.date(2026, 12, 25)]
    assert load_config(ROOT / "sources.yaml").arxiv.holidays[0] == dt.date(2026, 11, 26)


def test_a_file_not_in_utf8_is_named_with_its_line(tmp_path, capsys):
    path = tmp_path / "sources.yaml"
    path.write_bytes("news:\n  feeds:\n    - {name: Café, url: 'https://a.example', kind: news}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"sources\.yaml:3: not UTF-8 text \(byte 0xe9 at offset 31\)"):
        load_config(path)
    assert main(["check", "--config", str(path)]) == 2
    assert f"configuration error: {path}:3: not UTF-8" in capsys.readouterr().err


def test_an_empty_section_takes_its_defaults(tmp_path):
    cfg = _load(tmp_path, "papers:\nllm:\n  budget:\n  prices:\n")
    assert cfg.papers == PapersConfig() and cfg.llm.budget.max_usd is None and cfg.llm.prices == {}
    assert _load(tmp_path, "# every setting at its default\n") == Config()


def test_list_positions_count_from_one_and_point_at_their_line(tmp_path):
    text = (
        "news:\n  feeds:\n    - {name: a, url: 'https://a.example', kind: news}\n"
        "    - name: b\n      url: 'https://b.example'\n      kind: rumour\n"
    )
    with pytest.raises(ConfigError, match=r"sources\.yaml:6: news\.feeds\[2\]\.kind: Input should be 'news' or"):
        _load(tmp_path, text)
    assert "positions count from 1" in (ROOT / "docs" / "settings.md").read_text()


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "papers:\n  max: 3\n  rank: triage\n  max: 4\n",
            r"sources\.yaml:4: papers\.max: given twice, at lines 2 and 4",
        ),
        ("papers: {max: 3}\nnews: {}\npapers: {max: 4}\n", r"sources\.yaml:3: papers: given twice, at lines 1 and 3"),
        (
            "news:\n  feeds:\n    - {name: a, url: 'https://a.example', kind: news, name: b}\n",
            r"sources\.yaml:3: news\.feeds\[1\]\.name: given twice, on line 3",
        ),
    ],
)
def test_a_key_given_twice_is_named_with_both_lines(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, text)


def test_a_key_overriding_a_merged_one_is_not_given_twice(tmp_path):
    cfg = _load(
        tmp_path,
        "news:\n  feeds:\n    - &feed {name: a, url: 'https://a.example', kind: news}\n    - {<<: *feed, name: b}\n",
    )
    assert [(f.name, f.url) for f in cfg.news.feeds] == [("a", "https://a.example"), ("b", "https://a.example")]


@pytest.mark.parametrize(
    "entry",
    [
        "127.0.0.1",
        "127.0.0.1:0",
        "localhost:65536",
        "::1:8080",
        "[localhost]:80",
        "http://127.0.0.1:8080",
        "127.0.0.1:8080/feeds",
        "user@localhost:80",
        ":8080",
    ],
)
def test_an_allow_private_entry_must_be_host_and_port(tmp_path, entry):
    with pytest.raises(ConfigError, match=r"sources\.yaml:2: fetch\.allow_private\[2\]: .* is not host:port"):
        _load(tmp_path, f"fetch:\n  allow_private: ['127.0.0.1:8080', '{entry}']\n")


def test_allow_private_entries_are_kept_as_the_fetcher_compares_them(tmp_path):
    entries = ["127.0.0.1:8080", "LocalHost:8000", "[::1]:8080", "[0:0::1]:9000"]
    cfg = _load(tmp_path, f"fetch:\n  allow_private: {json.dumps(entries)}\n")
    assert cfg.fetch.allow_private == ["127.0.0.1:8080", "localhost:8000", "[::1]:8080", "[::1]:9000"]
    urls = [httpx.URL(f"http://{entry}/feed") for entry in entries]  # as the fetcher parses a feed's URL
    assert [host_port(url.host, url.port) for url in urls] == cfg.fetch.allow_private


def test_every_category_in_recorded_arxiv_responses_is_accepted():
    api = [
        DATA / n
        for n in (
            "arxivpy_q_testing_s0_m100_cfe7536492ca.xml",
            "arxivpy2016_id_list_1111.2011v2.xml",
            "arxivpy_id_astro-ph_0601001_s0_m100_3150dca9dc76.xml",
        )
    ]
    api += DEMO_SNAPSHOT.glob("*/arxiv-api.body")
    papers = [p for f in api for p in parse_api(f.read_bytes())]
    papers += [
        p
        for f in [DATA / "distill_arxiv_cs_ai.xml", *DEMO_SNAPSHOT.glob("*/arxiv-rss-*.body")]
        for p in parse_rss(f.read_bytes())[1]
    ]
    papers += parse_list_records((DATA / "saelim_arXivRaw_ListRecordsResponse.xml").read_bytes())[0]
    categories = sorted({c for p in papers for c in p.categories})
    assert len(categories) > 40 and {"astro-ph", "cond-mat.str-el", "hep-ph", "q-bio.QM"} <= set(categories)
    assert ArxivConfig(categories=categories).categories == categories


def _feeds(*names: str) -> str:
    return "news:\n  feeds:\n" + "".join(
        f"    - {{name: {json.dumps(n)}, url: 'https://a.example', kind: news}}\n" for n in names
    )


@pytest.mark.parametrize(
    "first, second",
    [("Open AI", "Open-AI"), ("a/b", "a b"), (" x", "x"), ("OpenAI", "openai"), ("OpenAI", "OpenAI Blog")],
)
def test_feeds_whose_names_differ_are_accepted_even_when_they_read_alike(tmp_path, first, second):
    assert [f.name for f in _load(tmp_path, _feeds(first, second)).news.feeds] == [first, second]


def test_two_feeds_of_one_name_are_a_config_error(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"sources\.yaml:5: news\.feeds\[3\]\.name: 'Open AI' is also the name of "
        r"news\.feeds\[1\] \(line 3\); each feed needs a name of its own",
    ) as caught:
        _load(tmp_path, _feeds("Open AI", "Open-AI", "Open AI"))
    assert "Open-AI" not in str(caught.value)  # a name that only reads alike is a name of its own


def _budgeted(**llm) -> Config:
    prices = {"gpt-4o-mini": {"prompt": 0.15, "completion": 0.6}, "gpt-4o": {"prompt": 2.5, "completion": 10.0}}
    return Config.model_validate({"llm": {"budget": {"max_usd": 1.0}, "prices": prices} | llm})


KEY = {"OPENAI_API_KEY": "k"}


def test_a_usd_budget_needs_a_price_for_every_model_in_use():
    config = _budgeted(models={"review": "big"}, commentary={"drafters": ["gpt-4o", "other"], "synthesizer": "big"})
    with pytest.raises(ConfigError, match=r"llm\.budget\.max_usd is set, but llm\.prices has no price for big, other;"):
        check_prices(config, resolve_endpoint(config.llm, environ=KEY))
    check_prices(_budgeted(), resolve_endpoint(_budgeted().llm, environ=KEY))  # every model priced
    unbudgeted = config.model_copy(update={"llm": config.llm.model_copy(update={"budget": LLMConfig().budget})})
    check_prices(unbudgeted, resolve_endpoint(unbudgeted.llm, environ=KEY))  # no USD budget, no price needed


def test_the_triage_model_needs_a_price_whatever_the_ranking_it_writes_the_tldrs():
    for rank in ("announcement", "triage"):
        config = _budgeted(models={"triage": "cheap"}).model_copy(update={"papers": PapersConfig(rank=rank)})
        with pytest.raises(ConfigError, match="no price for cheap;"):
            check_prices(config, resolve_endpoint(config.llm, environ=KEY))


def test_prices_are_checked_against_the_models_the_environment_chooses():
    config = _budgeted()
    with pytest.raises(ConfigError, match=r"no price for m-1 \(DIGEST_MODEL replaces every model\)"):
        check_prices(config, resolve_endpoint(config.llm, environ=KEY | {"DIGEST_MODEL": "m-1"}))
    unpriced = _budgeted(prices={})
    check_prices(unpriced, resolve_endpoint(unpriced.llm, environ={}))  # the embedded model costs nothing


def test_no_endpoint_and_no_key_means_the_embedded_model():
    ep = resolve_endpoint(LLMConfig(), environ={})
    assert ep.embedded and ep.structured_output == "json_object"
    assert ep.models.review == EMBEDDED_MODEL and ep.commentary.drafters == [EMBEDDED_MODEL]


def test_environment_overrides_the_file():
    llm = LLMConfig(base_url="https://file.example/v1")
    env = {"OPENAI_BASE_URL": "https://env.example/v1", "OPENAI_API_KEY": "k", "DIGEST_MODEL": "m-1"}
    ep = resolve_endpoint(llm, environ=env)
    assert ep.base_url == "https://env.example/v1" and ep.api_key == "k"
    assert {ep.models.summary, ep.models.overview, ep.commentary.synthesizer} == {"m-1"}
    assert resolve_endpoint(LLMConfig(), environ={"OPENAI_API_KEY": "k"}).base_url == "https://api.openai.com/v1"


def _settings(model, prefix=""):
    from pydantic import BaseModel

    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            yield from _settings(field.annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", field.get_default(call_default_factory=True)


def test_every_setting_is_documented_with_its_default():
    from conftest import ROOT

    from digest.config import Config

    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[2].strip(" `")
        for line in (ROOT / "docs" / "settings.md").read_text().splitlines()
        if line.startswith("| `")
    }
    for key, default in _settings(Config):
        assert key in rows, f"{key} missing from docs/settings.md"
        if isinstance(default, (int, float, str)) and not isinstance(default, bool):
            assert rows[key] == str(default), f"{key}: documented {rows[key]!r}, default {default!r}"
        elif default is None:
            assert rows[key] == "none", key
