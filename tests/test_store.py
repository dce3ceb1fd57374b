"""The snapshot store: every source name gets a body file of its own, and snapshots stored under
the earlier file naming (demo/snapshot) replay as they are."""

import datetime as dt
import json
import shutil

from conftest import DEMO_SNAPSHOT

from digest.fetch.sources import ReplaySource
from digest.fetch.store import RawResponse, SnapshotStore, file_name

DAY = dt.date(2026, 4, 30)
FETCHED = dt.datetime(2026, 4, 30, 6, tzinfo=dt.UTC)
# Names that read alike: the earlier naming (runs of other characters made one '-') stored the first
# four pairs in one file each (the third on a case-insensitive file system); "../x" must stay in the folder.
ALIKE = ["feed-Open AI", "feed-Open-AI", "feed-a/b", "feed-a b", "feed-OpenAI", "feed-openai", "feed-..-x", "feed-../x"]


def test_names_that_read_alike_are_stored_and_replayed_apart(tmp_path):
    store = SnapshotStore(tmp_path, DAY)
    for name in ALIKE:
        store.save(
            RawResponse(
                name=name, url=f"https://{len(name)}.example", status=200, body=f"<{name}>".encode(), fetched_at=FETCHED
            )
        )
    files = [p.name for p in store.dir.iterdir() if p.name != "index.json"]
    assert len(files) == len(ALIKE) and len({f.casefold() for f in files}) == len(ALIKE)  # case-insensitive too
    assert all(p.parent == store.dir for p in tmp_path.rglob("*.body"))  # "../x" stays inside
    replay = ReplaySource(store)
    assert [replay.get(name, "https://ignored.example").body for name in ALIKE] == [f"<{n}>".encode() for n in ALIKE]


def test_plain_names_keep_their_spelling():
    assert file_name("arxiv-api") == "arxiv-api.body" and file_name("arxiv-api-2") == "arxiv-api-2.body"
    assert file_name("fulltext-html-2604.26951") == "fulltext-html-2604.26951.body"
    assert file_name("feed-Open AI").startswith("feed-Open-AI+") and file_name("-x") != file_name("x")


def test_a_snapshot_stored_under_the_earlier_naming_replays_from_its_index():
    index = json.loads((DEMO_SNAPSHOT / DAY.isoformat() / "index.json").read_text())
    earlier = {name: entry["file"] for name, entry in index.items() if entry["file"] != file_name(name)}
    assert "feed-OpenAI News" in earlier  # stored as feed-OpenAI-News.body, a name the store no longer makes
    store = SnapshotStore(DEMO_SNAPSHOT, DAY)
    for name, entry in index.items():
        resp = store.load(name)
        assert resp.body == (DEMO_SNAPSHOT / DAY.isoformat() / entry["file"]).read_bytes() and resp.body
        assert resp.url == entry["url"] and resp.status == entry["status"]


def test_storing_again_over_the_earlier_naming_leaves_one_body(tmp_path):
    shutil.copytree(DEMO_SNAPSHOT / DAY.isoformat(), tmp_path / DAY.isoformat())
    store = SnapshotStore(tmp_path, DAY)
    fresh = store.load("feed-OpenAI News").model_copy(update={"body": b"<rss version='2.0'/>"})
    store.save(fresh)
    assert not (store.dir / "feed-OpenAI-News.body").exists()
    assert (store.dir / file_name("feed-OpenAI News")).read_bytes() == fresh.body == store.load("feed-OpenAI News").body
    assert store.load("feed-Anthropic News").body  # the other bodies stay where the index says
