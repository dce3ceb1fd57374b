"""Fetch stage: arXiv announcements and news feeds into Paper and Article, raw responses kept.

`arxiv.py` (announcement feeds, the export API, the choice of backfill), `oai.py` (OAI-PMH
backfill), `feeds.py` (news and commentary feeds), `upvotes.py` (Hugging Face daily papers),
`fulltext.py` (the chosen papers' text, called from the write stage); `result.py` (the one
get -> check -> parse -> status path every source takes, and `SourceResult`); `sources.py`
(live or replayed responses, arXiv's pacing), `http.py` (the one HTTP client and its address
policy), `store.py` (snapshots), `ledger.py` (what is remembered of each feed between runs) and
`text.py` (feed text to plain text).
"""
