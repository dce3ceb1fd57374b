"""The papers a reader profile names by arXiv id: read from the export API's recorded answer once,
kept in the data folder (a later run asks nothing), an id arXiv does not know a warning."""

import datetime as dt
import logging

from conftest import DATA

from digest.config import ArxivConfig
from digest.fetch.profile import KEPT, SOURCE_NAME, profile_papers
from digest.fetch.sources import Pacer, ReplaySource
from digest.fetch.store import RawResponse, SnapshotStore

DAY = dt.date(2026, 4, 30)
KNOWN, UNKNOWN = "1111.2011", "2601.99999"  # the recorded answer lists the first only


class Counting(ReplaySource):
    """The recorded answers, counting what is asked."""

    def __init__(self, store: SnapshotStore):
        super().__init__(store)
        self.asked: list[str] = []

    def get(self, name, url, check=None):
        self.asked.append(url)
        return super().get(name, url, check)


def _source(tmp_path) -> Counting:
    store = SnapshotStore(tmp_path / "snapshot", DAY)
    body = (DATA / "arxivpy2016_id_list_1111.2011v2.xml").read_bytes()
    store.save(RawResponse(name=SOURCE_NAME, url="recorded", status=200, body=body, fetched_at=dt.datetime.now(dt.UTC)))
    return Counting(store)


def test_named_papers_come_once_from_the_export_api_and_an_unknown_id_is_a_warning(tmp_path, caplog):
    source, data = _source(tmp_path), tmp_path / "data"
    data.mkdir()
    with caplog.at_level(logging.WARNING):
        papers, statuses = profile_papers([KNOWN, UNKNOWN], ArxivConfig(), source, Pacer(0), data)
    assert [p.arxiv_id for p in papers] == [KNOWN] and "Bethe Lattice" in papers[0].title
    assert len(source.asked) == 1 and f"id_list={KNOWN}%2C{UNKNOWN}" in source.asked[0]
    assert [s.state for s in statuses] == ["ok"]
    assert any(UNKNOWN in r.message and "the rest of the profile is used" in r.message for r in caplog.records)
    assert (data / KEPT).is_file()
    again, statuses = profile_papers([KNOWN], ArxivConfig(), source, Pacer(0), data)
    assert [p.title for p in again] == [papers[0].title] and statuses == [] and len(source.asked) == 1  # kept
