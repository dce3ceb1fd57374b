"""Publishing is all or nothing: a rebuild that fails at any write of its publication, or is killed
there, leaves the published site byte for byte as it was; `digest render` changes nothing when it
fails; only folders named after their date are days."""

import errno
import json
import os
import shutil

import pytest
from conftest import DEMO_CONFIG, DEMO_DATE, DEMO_SNAPSHOT, build_args
from stall import kill_at_write

from digest.cli import main

# A rebuild with other answers than the first build's, so that every file of the day changes.
OTHER_MODEL = {"DIGEST_MODEL": "another-model"}


def _build(tmp_path, data="data"):
    return main(build_args(output=tmp_path / "site", data=tmp_path / data))


def _files(root) -> dict[str, bytes]:
    """The files under `root` that are served (temp files and folders start with "." and are not)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def _published(tmp_path) -> dict[str, bytes]:
    """Every file a reader or operator sees of the published day: the site and the run record."""
    return {**_files(tmp_path / "site"), "run.json": (tmp_path / "data" / DEMO_DATE / "run.json").read_bytes()}


def _publication_writes(tmp_path, monkeypatch) -> int:
    """How many fsync'd writes a rebuild's publication makes (the site's files and run.json)."""
    count = [0]
    real = os.fsync
    monkeypatch.setattr("digest.files.os.fsync", lambda fd: (count.__setitem__(0, count[0] + 1), real(fd))[1])
    for name, value in OTHER_MODEL.items():
        monkeypatch.setenv(name, value)
    scratch = tmp_path / "scratch"
    shutil.copytree(tmp_path / "site", scratch / "site")
    assert main(build_args(output=scratch / "site", data=scratch / "data")) == 0
    monkeypatch.setattr("digest.files.os.fsync", real)
    return count[0]


@pytest.fixture
def published(fake_llm, tmp_path):
    assert _build(tmp_path) == 0
    return _published(tmp_path)


def test_a_full_disk_at_any_write_of_the_publication_changes_nothing(published, tmp_path, monkeypatch, capsys):  # P3
    writes = _publication_writes(tmp_path, monkeypatch)
    assert writes >= 15  # digest.json, index.html, 10 paper pages, the archive, the two feeds, run.json
    for nth in range(1, writes + 1):
        count = [0]
        real = os.fsync

        def full_disk(fd, nth=nth, count=count, real=real):
            count[0] += 1
            if count[0] == nth:
                raise OSError(errno.ENOSPC, "No space left on device")
            real(fd)

        monkeypatch.setattr("digest.files.os.fsync", full_disk)
        assert _build(tmp_path, data=f"data-{nth}") == 1, nth
        monkeypatch.setattr("digest.files.os.fsync", real)
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert "No space left on device" in last and "previous page is kept" in last
        assert last.startswith(f"digest: cannot write {tmp_path}"), last  # names the file
        assert _published(tmp_path) == published, nth
        assert not list((tmp_path / "site").rglob("*.partial")), nth


def test_a_kill_at_any_write_of_the_publication_changes_nothing(published, tmp_path, monkeypatch):  # P4
    writes = _publication_writes(tmp_path, monkeypatch)
    flag, env = tmp_path / "writing", {**os.environ, **OTHER_MODEL}
    for nth in range(1, writes + 1):
        args = ["build", "--date", DEMO_DATE, "--config", str(DEMO_CONFIG), "--snapshot", str(DEMO_SNAPSHOT)]
        kill_at_write([*args, "--output", str(tmp_path / "site"), "--data", str(tmp_path / "data")], nth, flag, env)
        assert _published(tmp_path) == published, nth
    assert _build(tmp_path) == 0 and not list((tmp_path / "site").rglob("*.partial"))  # the next run cleans up


def test_a_completed_rebuild_switches_the_whole_day(published, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGEST_MODEL", "another-model")
    assert _build(tmp_path) == 0
    now = _published(tmp_path)
    day = json.loads(now[f"{DEMO_DATE}/digest.json"])["digest"]
    assert {w["summary"]["provenance"]["models"][0] for w in day["papers"]} == {"another-model"}
    pages = [k for k in now if k.startswith(f"{DEMO_DATE}/papers/")]
    assert all(b"another-model" in now[k] for k in pages) and b"another-model" in now[f"{DEMO_DATE}/index.html"]
    assert json.loads(now["run.json"])["page"].endswith(f"{DEMO_DATE}/index.html")


@pytest.mark.parametrize("damage", ["corrupt", "old schema", "missing"])
def test_render_with_an_unreadable_day_changes_nothing_and_names_it(published, tmp_path, capsys, damage):  # P5
    other = tmp_path / "site" / "2026-04-29"
    shutil.copytree(tmp_path / "site" / DEMO_DATE, other)
    digest_json = other / "digest.json"
    if damage == "corrupt":
        digest_json.write_text("{not json")
    elif damage == "old schema":
        digest_json.write_text(json.dumps({"schema_version": 0, "digest": {}}))
    else:
        digest_json.unlink()
    before = _files(tmp_path / "site")
    assert main(["render", "--date", DEMO_DATE, "--output", str(tmp_path / "site")]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert str(digest_json) in last and "build it first" not in last
    assert _files(tmp_path / "site") == before


def test_render_of_a_folder_that_does_not_exist_creates_nothing(tmp_path, capsys):  # P5
    assert main(["render", "--date", DEMO_DATE, "--output", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err and not (tmp_path / "nowhere").exists()


def test_a_backup_folder_is_not_a_day(published, tmp_path):  # P9
    shutil.copytree(tmp_path / "site" / DEMO_DATE, tmp_path / "site" / f"{DEMO_DATE}.bak")
    assert main(["render", "--date", DEMO_DATE, "--output", str(tmp_path / "site")]) == 0
    archive = (tmp_path / "site" / "index.html").read_text()
    feed = (tmp_path / "site" / "feed.xml").read_text()
    assert archive.count(f'href="{DEMO_DATE}/') == 1 and feed.count("<entry>") == 1


def test_a_day_folder_is_swapped_where_the_kernel_cannot_exchange(tmp_path, monkeypatch):
    from digest import files

    monkeypatch.setattr(files.ctypes, "CDLL", lambda *a, **k: object())  # no renameat2
    new, old = tmp_path / ".day.partial", tmp_path / "day"
    for folder, text in ((new, "new"), (old, "published")):
        folder.mkdir()
        (folder / "index.html").write_text(text)
    files.exchange(new, old)
    assert (old / "index.html").read_text() == "new" and (new / "index.html").read_text() == "published"
    real = os.replace

    def second_rename_fails(src, dst):
        if str(src).endswith(".day.partial"):
            raise OSError(errno.EIO, "I/O error")
        real(src, dst)

    monkeypatch.setattr(files.os, "replace", second_rename_fails)
    with pytest.raises(OSError):
        files.exchange(new, old)
    assert (old / "index.html").read_text() == "new"  # the published folder is back in place
