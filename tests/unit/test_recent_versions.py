"""The loader's memory of served versions (``govkpi.load.raw.RecentVersions``): every repeat the
sources can serve — adjacent in (modification time, id) order, on the same page or the next one
(SOURCES.md; the simulator's ``repeat`` mess) — is found, across a generation boundary too, and
memory stays flat however many pages a batch has."""

from govkpi.load.raw import RecentVersions

PAGE = 1000


def version(i: int) -> bytes:
    return f"000.00.17.H08-170314-{i:07d}".encode() + i.to_bytes(8, "big")


def crawl(seen: RecentVersions, pages: int, start: int = 0) -> int:
    """Serve ``pages`` full pages of distinct versions; the number taken as new."""
    new = 0
    for p in range(pages):
        new += sum(seen.add(version(start + p * PAGE + i)) for i in range(PAGE))
        seen.page_done()
    return new


def test_a_repeat_on_the_same_page_is_skipped():
    seen = RecentVersions()
    assert seen.add(version(1)) is True
    assert seen.add(version(1)) is False
    assert seen.add(version(2)) is True


def test_a_repeat_at_the_start_of_the_next_page_is_skipped_across_a_generation_boundary():
    seen = RecentVersions(pages_per_generation=4)
    assert crawl(seen, 4) == 4 * PAGE  # the 4th page ends generation 1
    last_of_generation = version(4 * PAGE - 1)
    assert seen.add(last_of_generation) is False  # served again on page 5
    assert crawl(seen, 3, start=4 * PAGE) == 3 * PAGE
    assert seen.add(version(4 * PAGE - 1)) is False  # still remembered 3 pages later


def test_memory_stays_flat_over_a_long_batch():
    seen = RecentVersions(pages_per_generation=8)
    assert crawl(seen, 200) == 200 * PAGE
    assert len(seen) <= 2 * 8 * PAGE


def test_a_version_is_forgotten_two_generations_later():
    seen = RecentVersions(pages_per_generation=2)
    crawl(seen, 1)
    crawl(seen, 4, start=PAGE)
    # far beyond any repeat a conforming source serves: loaded again, and the raw gate's
    # raw_key_unique_in_batch check blocks the batch
    assert seen.add(version(0)) is True
