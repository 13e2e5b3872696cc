"""A damaged journal file, wherever the damage is, is moved aside for an empty one; a file
SQLite cannot use at all is an error, never moved."""

from __future__ import annotations

from pathlib import Path

import pytest

from colony_actor.jobs.journal.database import JournalDatabase
from colony_actor.jobs.journal.store import JobJournal, JournalDamaged, JournalError
from colony_actor.jobs.lifecycle import JobStatus
from tests.jobs.support import make_job, opened

PAGE = 4096


async def written(path: Path, jobs: int = 300) -> Path:
    """A journal of finished jobs, checkpointed into its main file, closed."""
    journal = await opened(path)
    for n in range(jobs):
        journal.record(make_job(n, JobStatus.COMPLETED, result={"rows": ["x" * 200] * 5}))
    await journal.flush()
    await journal.close()
    return path


def damage_page(path: Path, page: int) -> None:
    with path.open("r+b") as handle:
        handle.seek(page * PAGE)
        handle.write(bytes([0xA5]) * PAGE)


async def reopened_after(path: Path) -> JobJournal:
    journal = JobJournal(path)
    await journal.open()
    return journal


@pytest.mark.parametrize("where", ["middle", "last", "header"])
async def test_a_damaged_journal_is_set_aside(tmp_path: Path, where: str) -> None:
    path = await written(tmp_path / "jobs.sqlite3")
    pages = path.stat().st_size // PAGE
    assert pages > 20
    damage_page(path, {"middle": pages // 2, "last": pages - 1, "header": 0}[where])
    journal = await reopened_after(path)
    try:
        aside = journal.set_aside_to
        assert aside is not None and aside.parent == tmp_path
        assert aside.name.startswith("jobs.sqlite3.damaged-")
        assert aside.stat().st_size == pages * PAGE  # kept for inspection, as it was
        assert await journal.load() == []
        journal.record(make_job(1, JobStatus.COMPLETED))
        await journal.flush()
        assert [job.id for job in await journal.load()] == ["job-1"]
    finally:
        await journal.close()


class UncheckedDatabase(JournalDatabase):
    """The real database, opened without its page check: damage shows when reading."""

    def check(self) -> None:
        pass


async def test_damage_found_only_by_reading_sets_aside_too(tmp_path: Path) -> None:
    path = await written(tmp_path / "jobs.sqlite3")
    damage_page(path, path.stat().st_size // PAGE // 2)
    journal = JobJournal(path, database=UncheckedDatabase(path))
    await journal.open()
    try:
        assert journal.set_aside_to is None
        assert await journal.load() == []
        assert journal.set_aside_to is not None and journal.set_aside_to.exists()
        journal.record(make_job(2, JobStatus.COMPLETED))
        await journal.flush()
        assert [job.id for job in await journal.load()] == ["job-2"]
    finally:
        await journal.close()


async def test_a_zero_length_journal_opens_empty(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    path.write_bytes(b"")
    journal = await reopened_after(path)
    try:
        assert journal.set_aside_to is None and await journal.load() == []
    finally:
        await journal.close()


async def test_a_journal_that_cannot_be_opened_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    path.mkdir()
    with pytest.raises(JournalError) as caught:
        await JobJournal(path).open()
    assert not isinstance(caught.value, JournalDamaged)
    assert names_in(tmp_path) == ["jobs.sqlite3"]  # nothing moved aside


def names_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())
