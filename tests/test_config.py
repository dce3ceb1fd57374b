"""sources.yaml validation and the environment's overrides of the LLM endpoint."""

import pytest

from conftest import ROOT
from digest.config import EMBEDDED_MODEL, ConfigError, LLMConfig, load_config, resolve_endpoint


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
    with pytest.raises(ConfigError, match=r"sources\.yaml:2: papers\.maxx: Extra inputs"):
        load_config(path)


def test_wrong_type_is_named(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("news:\n  feeds:\n    - {name: a, url: 'https://a.example', kind: rumour}\n")
    with pytest.raises(ConfigError, match=r"sources\.yaml:3: news\.feeds\.0\.kind: Input should be 'news' or 'comment'"):
        load_config(path)


def test_not_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("arxiv: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


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
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2].strip(" `")
            for line in (ROOT / "docs" / "settings.md").read_text().splitlines() if line.startswith("| `")}
    for key, default in _settings(Config):
        assert key in rows, f"{key} missing from docs/settings.md"
        if isinstance(default, (int, float, str)) and not isinstance(default, bool):
            assert rows[key] == str(default), f"{key}: documented {rows[key]!r}, default {default!r}"
        elif default is None:
            assert rows[key] == "none", key
