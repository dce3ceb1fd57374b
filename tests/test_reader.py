"""The reader profile: its settings, the BibTeX library, followed authors' names, the empty profile."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from digest.errors import ConfigError
from digest.models import Paper, arxiv_links
from digest.select.reader import (
    FollowedAuthors,
    ReaderConfig,
    author_name,
    load_profile,
    phrases,
    read_library,
    same_person,
)

ROOT = Path(__file__).parent.parent
DEMO_LIBRARY = ROOT / "demo" / "library.bib"

# Two real entries (arXiv 2602.15028 with its abstract cut short, 2602.15001 without abstract) as a
# reference manager writes them: "Surname, Given" names, LaTeX accents, braces that protect case.
ENTRIES = r"""
@article{long-context,
  title = {Long Context, Less Focus: A Scaling Gap in {LLMs} Revealed through Privacy and Personalization},
  author = {M{\"u}ller, J. and de la Fontaine, Jean-Pierre},
  abstract = {Large language models (LLMs) are increasingly deployed in privacy-critical and
    personalization-oriented scenarios.},
}

@misc{jailbreak,
  title = {Boundary Point Jailbreaking of Black-Box {LLMs}},
}
"""


def test_library_entries_give_title_and_abstract_and_a_missing_abstract_leaves_the_title(tmp_path):
    bib = tmp_path / "library.bib"
    bib.write_text(ENTRIES, encoding="utf-8")
    first, second = read_library(bib)
    assert first.key == "long-context"
    assert first.title.startswith("Long Context, Less Focus: A Scaling Gap in LLMs")
    assert first.abstract.startswith("Large language models (LLMs) are increasingly deployed in privacy-critical and")
    assert second.abstract == "" and second.text == "Boundary Point Jailbreaking of Black-Box LLMs"


def test_the_demo_library_is_real_bibtex_with_abstracts():
    items = read_library(DEMO_LIBRARY)
    assert 10 <= len(items) <= 20 and all(len(i.abstract) > 100 for i in items)
    assert (
        items[0].title == "Long Context, Less Focus: A Scaling Gap in LLMs Revealed through Privacy and Personalization"
    )


def test_a_bare_percent_or_ampersand_in_an_entry_is_text_and_keeps_what_follows():
    # the demo library as arXiv's BibTeX export wrote it: "12% more ..." and "Search & Evaluation" unescaped
    by_key = {i.key: i for i in read_library(DEMO_LIBRARY)}
    assert any(
        "approximately 12% more FLOPs-efficient" in i.abstract and i.abstract.endswith("this http URL")
        for i in by_key.values()
    )
    assert any(i.title.endswith("Business Development, and Search & Evaluation") for i in by_key.values())
    assert any("scaling gap in current models – long context" in i.abstract for i in by_key.values())  # "--"


def test_a_malformed_entry_names_the_file_and_its_line(tmp_path):
    bib = tmp_path / "broken.bib"
    # the second entry's title never closes: bibtexparser aborts it at the next entry
    bib.write_text(ENTRIES.replace("Black-Box {LLMs}},", "Black-Box {LLMs},") + "@misc{next, title = {X}}\n")
    with pytest.raises(ConfigError) as raised:
        read_library(bib)
    assert str(raised.value).startswith(f"{bib}:9: malformed BibTeX entry '@misc{{jailbreak,'")


def test_a_duplicate_key_and_a_file_that_is_not_utf8_are_errors_too(tmp_path):
    bib = tmp_path / "twice.bib"
    bib.write_text(ENTRIES + ENTRIES)
    with pytest.raises(ConfigError, match=r"twice\.bib:13: malformed BibTeX entry"):
        read_library(bib)
    latin1 = tmp_path / "latin1.bib"
    latin1.write_bytes(ENTRIES.replace(r"M{\"u}ller", "Müller").encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.bib:4: the reader library is not UTF-8"):
        read_library(latin1)


def test_a_missing_library_file_is_named_relative_to_the_config_folder(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.bib: cannot read the reader library"):
        load_profile(ReaderConfig(library=Path("nowhere.bib")), tmp_path)


def test_names_match_across_accents_initials_and_order():
    assert author_name("de la Fontaine, Jean-Pierre") == ("de la fontaine", ("jean", "pierre"))
    assert author_name("Jean-Pierre de la Fontaine") == author_name("de la Fontaine, Jean-Pierre")
    assert same_person(author_name("Müller, J."), author_name("Johann Muller"))
    assert same_person(author_name("J. A. Smith"), author_name("John Smith"))
    assert not same_person(author_name("John Smith"), author_name("Jane Smith"))
    assert not same_person(author_name("J. A. Smith"), author_name("J. B. Smith"))
    assert not same_person(author_name("Müller, J."), author_name("J. Miller"))


def test_followed_authors_match_a_paper_by_the_name_the_profile_writes():
    followed = FollowedAuthors(["Jukić, D.", "Hinton, Geoffrey"])
    assert followed.match(["H. Buljan", "Dario Jukic"]) == "Jukić, D."  # the OAI record writes "Jukić, D."
    assert followed.match(["Geoffrey E. Hinton"]) == "Hinton, Geoffrey"
    assert followed.match(["Gerald Hinton", "{ATLAS Collaboration}"]) is None


def test_an_unreadable_followed_name_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match=r"reader\.authors\[2\]: author '\.\.\.': no surname"):
        FollowedAuthors(["Hinton, G.", "..."])


def test_the_reader_settings_check_ids_and_embedding_models():
    cfg = ReaderConfig(papers=["https://arxiv.org/abs/2602.15028v2", "math/0207249"])
    assert cfg.papers == ["2602.15028", "math/0207249"]
    with pytest.raises(ValidationError, match="no arXiv id in 'not-an-id'"):
        ReaderConfig(papers=["not-an-id"])
    with pytest.raises(ValidationError, match="an embedding model needs a name"):
        ReaderConfig(embeddings=" ")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ReaderConfig.model_validate({"libary": "typo.bib"})


def test_the_profile_joins_the_library_the_fetched_papers_and_the_phrases(tmp_path):
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "library.bib").write_text(ENTRIES)
    fields = {"arxiv_id": "2602.15029", "title": "Symmetry in language statistics", "summary": "..."}
    fetched = Paper.model_validate(fields | arxiv_links("2602.15029"))
    cfg = ReaderConfig(
        library=Path("refs/library.bib"),
        papers=["2602.15029"],
        interests="diffusion language models;\nAI weather emulators, ",
        avoid="jailbreak",
    )
    profile = load_profile(cfg, tmp_path, [fetched])
    assert [i.key for i in profile.library] == ["long-context", "jailbreak", "2602.15029"]
    assert profile.interests == ["diffusion language models", "AI weather emulators"]
    assert profile.avoid == ["jailbreak"] and not profile.empty


def test_a_profile_with_nothing_to_rank_by_is_empty():
    assert load_profile(ReaderConfig(), Path(".")).empty
    assert load_profile(ReaderConfig(avoid="crypto"), Path(".")).empty  # avoid alone ranks nothing up
    assert not load_profile(ReaderConfig(authors=["Hinton, G."]), Path(".")).empty
    assert phrases(" ;\n, ") == []
