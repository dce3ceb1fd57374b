"""Evidence quotes checked against real arXiv abstracts (the recorded export-API answers and announcement
feeds in tests/data and demo/snapshot): each sentence, copied as a model copies, is found in its own
abstract and in a PDF-like rendering of it; changed, invented and borrowed quotes are not."""

import re

import pytest
from conftest import DATA, DEMO_SNAPSHOT

from digest.fetch.arxiv_parse import parse_api, parse_rss
from digest.fetch.oai import parse_list_records
from digest.fetch.text import clean_text
from digest.models import REVIEW_PARTS, PaperReview, ReviewPoint
from digest.write.quotes import MIN_CHARS, evidence_problem, normalized, quote_found, source_sentences, verify_evidence

API_ANSWERS = [DATA / "arxivpy_q_testing_s0_m100_cfe7536492ca.xml", DEMO_SNAPSHOT / "2026-04-30" / "arxiv-api.body"]
FEEDS = [DATA / "distill_arxiv_cs_ai.xml", *sorted((DEMO_SNAPSHOT / "2026-04-30").glob("arxiv-rss-*.body"))]
OAI_ANSWER = DATA / "saelim_arXivRaw_ListRecordsResponse.xml"


@pytest.fixture(scope="module")
def papers():
    found = [p for path in API_ANSWERS for p in parse_api(path.read_bytes())]
    found += [p for path in FEEDS for p in parse_rss(path.read_bytes()).papers]
    return found + parse_list_records(OAI_ANSWER.read_bytes()).papers


@pytest.fixture(scope="module")
def abstracts(papers) -> list[str]:
    """Every recorded abstract once (a paper in two feeds has one abstract)."""
    return list(dict.fromkeys(p.summary for p in papers))


def sentences(text: str) -> list[str]:
    """The plainest split (at . ! ? and a space), independent of the module's: its pieces are verbatim
    quotes too, some of them cut after "e.g." or inside a TeX span."""
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


def anchoring(text: str) -> list[str]:
    """The sentences of `text` long enough to anchor a point (4 words, MIN_CHARS characters, normalized)."""
    return [s for s in sentences(text) if len(normalized(s)) >= MIN_CHARS and len(normalized(s).split()) >= 4]


def abstract_with(abstracts: list[str], needle: str) -> str:
    return next(a for a in abstracts if needle in a)


def sentence_with(text: str, needle: str) -> str:
    return next(s for s in sentences(text) if needle in s)


def as_a_model_copies(sentence: str) -> str:
    """`sentence` as models copy prose into a JSON string: TeX dollars and escapes gone, \\emph dropped,
    curly quotes, an em dash for "--", a doubled space, the final full stop left off."""
    text = re.sub(r"\\emph\{([^{}]*)\}", r"\1", sentence.replace("$", "").replace("\\%", "%"))
    text = re.sub(r'"([^"]*)"', "\u201c\\1\u201d", text).replace("--", "\u2014").replace("'", "\u2019")
    return text.replace(" ", "  ", 1).removesuffix(".")


def as_pdf_text(abstract: str, width: int = 60) -> str:
    """`abstract` as a PDF's text layer gives it: lines of `width` characters, a long word at a line end
    hyphenated across the break, "fi" and "fl" as ligatures."""
    lines, line = [], ""
    for word in abstract.replace("fi", "\ufb01").replace("fl", "\ufb02").split():
        if len(line) + len(word) < width:
            line = f"{line} {word}".strip()
        elif word.isalpha() and len(word) >= 8:
            lines.append(f"{line} {word[:4]}-")
            line = word[4:]
        else:
            lines.append(line)
            line = word
    return "\n".join([*lines, line])


def changed_number(sentence: str) -> str | None:
    """`sentence` with the last digit of its first number changed (3% -> 5%), None without a number."""
    match = re.search(r"\d(?!\d)", sentence)
    if match is None:
        return None
    digit = str((int(match.group()) + 2) % 10)
    return sentence[: match.start()] + digit + sentence[match.end() :]


def swapped_words(sentence: str) -> str | None:
    """`sentence` with two neighbouring different words in its middle swapped, None when it has too few."""
    words = sentence.split()
    middle = len(words) // 2
    if len(words) < 6 or normalized(words[middle - 1]) == normalized(words[middle]):
        return None
    words[middle - 1], words[middle] = words[middle], words[middle - 1]
    return " ".join(words)


# --- the measurements over every recorded abstract --------------------------------------------------


def test_no_false_alarms_on_any_sentence_of_any_recorded_abstract(abstracts):
    quotes = [(s, a) for a in abstracts for s in anchoring(a)]
    assert len(abstracts) >= 100 and len(quotes) >= 800
    missed = [s for s, a in quotes if not quote_found(s, a)]
    copied = [s for s, a in quotes if not quote_found(as_a_model_copies(s), a)]
    pdf_lines = {a: as_pdf_text(a) for a in abstracts}
    from_lines = [s for s, a in quotes if not quote_found(s, pdf_lines[a])]
    # the line breaks as spaces, as digest.fetch.fulltext reads a PDF's text (a "<" in it is text)
    pdf_text = {a: clean_text(lines, html_markup=False) for a, lines in pdf_lines.items()}
    from_pdf = [s for s, a in quotes if not quote_found(s, pdf_text[a])]
    print(f"\n{len(quotes)} sentences of {len(abstracts)} abstracts: {len(missed)} missed verbatim, {len(copied)} as")
    print(f"copied, {len(from_pdf)} in PDF text, {len(from_lines)} in PDF lines")
    assert missed == [] and copied == [] and from_pdf == [] and from_lines == []


def test_no_sentence_of_an_abstract_is_found_in_the_next(abstracts):
    n = len(abstracts)
    borrowed = [s for i, a in enumerate(abstracts) for s in anchoring(a) if quote_found(s, abstracts[(i + 1) % n])]
    assert borrowed == []


def test_a_changed_number_or_two_swapped_words_is_never_found(abstracts):
    numbers = [(q, a) for a in abstracts for s in anchoring(a) if (q := changed_number(s))]
    swaps = [(q, a) for a in abstracts for s in anchoring(a) if (q := swapped_words(s))]
    assert len(numbers) >= 150 and len(swaps) >= 800
    assert [q for q, a in numbers if quote_found(q, a)] == []
    assert [q for q, a in swaps if quote_found(q, a)] == []


# --- single cases on real abstracts -------------------------------------------------------------------


def test_an_exact_quote_is_found_and_an_invented_one_is_not(abstracts):
    abstract = abstract_with(abstracts, "ChatGPT can provide correct or partially correct answers")
    quote = sentence_with(abstract, "55.6%")
    assert quote_found(quote, abstract)
    assert not quote_found(
        "Our findings indicate that ChatGPT answers every software testing question correctly.", abstract
    )
    assert not quote_found(quote.replace("55.6%", "55.8%"), abstract)
    assert not quote_found(quote[quote.index("5.6%") :], abstract)  # "5.6% of cases" is not "55.6% of cases"
    assert not quote_found(quote.replace("correct", "incorrect", 1), abstract)


def test_copying_changes_are_forgiven(abstracts):
    quoted = abstract_with(abstracts, '"large language models"')
    assert quote_found(sentence_with(quoted, '"large language models"').replace('"', "\u201c", 1), quoted)
    dashes = abstract_with(abstracts, "co-activation -- learn")
    assert quote_found(sentence_with(dashes, "--").replace(" -- ", " \u2013 "), dashes)
    assert quote_found(sentence_with(dashes, "--").replace(" -- ", "\u2014"), dashes)
    ligature = abstract_with(abstracts, "efficiency")
    plain = sentence_with(ligature, "efficiency")
    assert quote_found(plain.replace("fi", "\ufb01"), ligature)
    assert quote_found(plain, ligature.replace("fi", "\ufb01"))
    assert quote_found(plain.replace(" ", "  ").replace(" ", "\n", 1), ligature)
    assert quote_found(plain.removesuffix(".") if plain.endswith(".") else plain + ".", ligature)
    chatgpt = abstract_with(abstracts, "in this paper, we examine how well ChatGPT performs when tasked")
    assert quote_found("We examine how well ChatGPT performs.", chatgpt)  # a clause, capitalized, a full stop added
    assert quote_found("(we examine how well ChatGPT performs)", chatgpt)
    stiff = abstract_with(abstracts, 'extremely " stiff " and " soft " form')
    assert quote_found("rules out an extremely “stiff” and “soft” form", stiff)
    assert quote_found(f"\u201c\u2026{plain}\u201d", ligature)
    assert quote_found("ωTest detected 36 previously-unknown bugs", abstract_with(abstracts, "$ω$Test detected 36"))
    assert quote_found(
        "achieving a success rate of 30% for generating correct assertions", abstract_with(abstracts, "30\\%")
    )


def test_a_word_hyphenated_across_a_line_break_is_found(abstracts):
    abstract = abstract_with(abstracts, "revolutionized the capabilities of vision-based systems")
    source = abstract.replace("revolutionized", "revolu-\ntionized").replace("vision-based", "vision-\nbased")
    quote = sentence_with(abstract, "revolutionized")
    assert "revolutionized" not in source and quote_found(quote, source)
    assert quote_found(quote, clean_text(source))  # "revolu- tionized", as the paper's full text holds it
    assert quote_found(quote, source.replace("-\n", "\u00ad"))  # a soft hyphen


def test_an_ellipsis_joins_pieces_that_occur_in_order(abstracts):
    abstract = next(a for a in abstracts if len(anchoring(a)) >= 4)
    first, _, third, *_ = anchoring(abstract)
    head = " ".join(first.split()[:6])
    for ellipsis in (" ... ", " \u2026 ", " [...] ", "... "):
        assert quote_found(head + ellipsis + third, abstract)
    assert not quote_found(third + " ... " + head, abstract)  # out of order
    assert not quote_found(head + " ... " + anchoring(abstracts[-1])[0], abstract)  # a piece of another abstract
    assert quote_found(head + " ... and", abstract)  # a piece too short to anchor is passed over


def test_a_quote_too_short_to_anchor_a_point_is_never_found(abstracts):
    abstract = abstracts[0]
    for sentence in anchoring(abstract):
        words = sentence.split()
        assert not quote_found(" ".join(words[:3]), abstract)
    assert not quote_found("the results", abstract) and not quote_found("", abstract)
    assert not quote_found("...", abstract) and not quote_found("\u2026 \u2026", abstract)
    assert not quote_found("in VBS. We also", abstract_with(abstracts, "in VBS. We also"))  # 4 words, 15 chars


# --- verify_evidence and evidence_problem -----------------------------------------------------------------


def review_quoting(quotes: list[str]) -> PaperReview:
    """A review whose points (two per part, in order) rest on `quotes`."""
    points = [
        ReviewPoint(title=f"Point {i}", text=f"The point that quote {i} supports.", evidence=q)
        for i, q in enumerate(quotes)
    ]
    parts = {part: points[2 * i : 2 * i + 2] for i, part in enumerate(REVIEW_PARTS)}
    return PaperReview(arxiv_id="2302.03287", title="A paper", **parts)


def test_verify_evidence_sets_every_flag_and_counts_the_missing_quotes(abstracts):
    abstract = next(a for a in abstracts if len(anchoring(a)) >= 10)
    own = anchoring(abstract)[:10]
    borrowed, changed = anchoring(abstracts[-1])[0], changed_number(" ".join(anchoring(abstract)))
    assert changed is not None
    review = review_quoting([*own[:3], borrowed, *own[3:7], changed[:200], *own[7:]])
    checked, verdict = verify_evidence(review, abstract, source_name="the abstract")
    flags = [p.evidence_found for points in checked.parts().values() for p in points]
    assert flags == [True] * 3 + [False] + [True] * 4 + [False] + [True] * 3
    assert all(p.evidence_found is None for points in review.parts().values() for p in points)  # a copy
    assert verdict is not None and verdict.retry
    prefix = '2 of 12 evidence quotes are not in the abstract: "'
    assert verdict.reason.startswith(prefix) and verdict.reason.endswith('"')
    shown = verdict.reason[len(prefix) : -1]
    assert len(shown) <= 100 and borrowed.startswith(shown.removesuffix("\u2026"))
    assert evidence_problem(checked, "the abstract") is None  # 2 of 12 is not most


def test_verify_evidence_passes_a_review_whose_quotes_are_all_found(abstracts):
    abstract = next(a for a in abstracts if len(anchoring(a)) >= 12)
    checked, verdict = verify_evidence(review_quoting(anchoring(abstract)[:12]), abstract)
    assert verdict is None
    assert all(p.evidence_found for points in checked.parts().values() for p in points)


def test_evidence_problem_when_more_than_half_the_quotes_are_missing(abstracts):
    abstract, another = [a for a in abstracts if len(anchoring(a)) >= 7][:2]
    own, other = anchoring(abstract)[:6], anchoring(another)
    half, _ = verify_evidence(review_quoting(own + other[:6]), abstract)
    assert evidence_problem(half) is None
    most, verdict = verify_evidence(review_quoting(own[:5] + other[:7]), abstract, "the paper")
    assert evidence_problem(most, "the paper") == "7 of 12 evidence quotes are not in the paper"
    assert verdict is not None and verdict.reason.startswith("7 of 12 evidence quotes are not in the paper: ")
    assert evidence_problem(review_quoting(other[:6] + own)) is None  # not checked


# --- source_sentences ----------------------------------------------------------------------------------


@pytest.mark.parametrize("max_chars", [300, 120, 40])
def test_every_source_sentence_is_a_quote_found_in_its_abstract(abstracts, max_chars):
    offered = 0
    for abstract in abstracts:
        found = source_sentences(abstract, max_chars)
        offered += len(found)
        assert all(len(s) <= max_chars and quote_found(s, abstract) for s in found)
        keys = [normalized(s) for s in found]
        assert len(set(keys)) == len(keys)
        positions = [normalized(abstract).find(k) for k in keys]
        assert positions == sorted(positions)
    assert offered >= 800


def test_source_sentences_keep_a_whole_abstract_in_sentence_order(abstracts):
    abstract = abstract_with(abstracts, "Test case prioritisation (TCP) is a critical task")
    found = source_sentences(abstract, max_chars=len(abstract))
    assert " ".join(found) == abstract
    assert found[1] == "Machine learning has become a common way to achieve it."


def test_source_sentences_do_not_end_at_abbreviations_decimals_or_initials(abstracts, papers):
    def one_sentence_holds(text: str, needle: str) -> bool:
        return any(needle in s for s in source_sentences(text, max_chars=len(text)))

    for needle in (
        "e.g. automated driving",
        "(i.e. bit flips)",
        "et al. [CRS15]",
        "vs. 55.68%",
        "Aug. 10, 2025",
        "55.6% of",
    ):
        assert one_sentence_holds(abstract_with(abstracts, needle), needle)
    review = (DATA / "paperbot_daily_digest_2026-02-23.txt").read_text(encoding="utf-8")
    for needle in ("(e.g., Eq. 11 for Duo", "The IsoFLOP curves (Fig. 2), scaling law fits (Fig. 3)"):
        assert one_sentence_holds(next(line for line in review.splitlines() if needle in line), needle)
    for name in ("Aravind R. Krishnan", "D.V. Shetty"):  # initials, undotted and dotted
        authors = ", ".join(next(p.authors for p in papers if name in p.authors))
        assert source_sentences(authors, max_chars=len(authors)) == [authors]
    effective = abstract_with(abstracts, "effectively. $ω$Test")  # a sentence may start with TeX
    assert any(s.startswith("$ω$Test detected") for s in source_sentences(effective))


def test_source_sentences_are_offered_once(abstracts):
    abstract = abstracts[0]  # a full text repeats its abstract; the quotes to choose from do not
    assert source_sentences(abstract + " " + abstract.upper()) == source_sentences(abstract)


def test_source_sentences_reject_a_limit_below_an_anchoring_quote():
    with pytest.raises(ValueError, match="max_chars must be at least 20"):
        source_sentences("Any text at all.", max_chars=MIN_CHARS - 1)
