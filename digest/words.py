"""How counts are said to readers and operators: "1 paper", "2 papers"."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 paper', '2 papers', '1,200 papers'; `many` for irregular plurals ('1 query', '2 queries')."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"
