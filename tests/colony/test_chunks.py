"""The chunker: split then join gives the same statements, and no chunk exceeds the limit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colony_actor.colony import chunks
from colony_actor.colony.errors import InvalidInput

HEAD = chunks.header("2024-01-01T12:00:00.000000Z")

statement_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"),
    max_size=150)
statements = st.lists(
    statement_text.map(lambda t: f'<ant://s> <http://p> "{t}" .\n'.encode()), max_size=120)


def addresses(count: int) -> list[str]:
    return [f"{i:064x}" for i in range(1, count + 1)]


def split(lines: list[bytes], limit: int) -> tuple[list[str], list[bytes]]:
    count = chunks.layout(lines, limit, len(HEAD))
    pads = addresses(count)
    return pads, chunks.render(lines, HEAD, pads, limit)


def read_like_a_reader(pads: list[str], rendered: list[bytes]) -> bytes:
    """Follow the index from chunk 0 only, level by level, as a downloader does."""
    stored = dict(zip(pads, rendered, strict=True))
    datas = {0: rendered[0]}
    positions: dict[int, str] = {}
    fresh = [rendered[0]]
    while fresh:
        listed: dict[int, str] = {}
        for data in fresh:
            listed.update(chunks.read_index(data))
        positions.update(listed)
        fresh = []
        for position, address in listed.items():
            if position not in datas:
                datas[position] = stored[address]
                fresh.append(stored[address])
    assert chunks.check_sequence(positions, 100_000) == pads[1:]
    return chunks.join([datas[p] for p in sorted(datas)])


@settings(max_examples=200, deadline=None)
@given(statements, st.integers(min_value=1024, max_value=6000))
def test_split_then_join_round_trips(lines: list[bytes], limit: int) -> None:
    pads, rendered = split(lines, limit)
    assert len(rendered) == len(pads)
    assert all(len(chunk) <= limit for chunk in rendered)
    assert all(chunk.startswith(HEAD) for chunk in rendered)
    assert chunks.join(rendered) == b"".join(lines)
    assert read_like_a_reader(pads, rendered) == b"".join(lines)


@settings(max_examples=100, deadline=None)
@given(statements)
def test_packs_greedily(lines: list[bytes]) -> None:
    limit = 1024
    _pads, rendered = split(lines, limit)
    assert chunks.join(rendered).count(b"\n") == len(lines)
    # A chunk is only started when the next line did not fit in the previous one.
    for position in range(len(rendered) - 1):
        following = rendered[position + 1][len(HEAD):]
        if following:
            first_line = following.split(b"\n", 1)[0] + b"\n"
            assert len(rendered[position]) + len(first_line) > limit


def test_large_pod_indexes_past_chunk_zero() -> None:
    lines = [f'<ant://{i:064x}> <http://schema.org/name> "Item {i}" .\n'.encode()
             for i in range(2000)]
    pads, rendered = split(lines, 1024)
    assert len(pads) > 20  # more than chunk 0 alone could list
    assert read_like_a_reader(pads, rendered) == b"".join(lines)


def test_statement_larger_than_a_chunk_names_its_subject() -> None:
    big = b'<ant://big-subject> <http://p> "' + b"x" * 3000 + b'" .\n'
    with pytest.raises(InvalidInput, match="ant://big-subject"):
        chunks.layout([b'<ant://a> <http://p> "1" .\n', big], 2048, len(HEAD))


def test_empty_pod_is_one_header_chunk() -> None:
    assert split([], 1024) == (addresses(1), [HEAD])


def test_read_index_refuses_gaps_conflicts_and_too_many() -> None:
    with pytest.raises(InvalidInput):
        chunks.check_sequence({2: "a" * 64}, 100)
    with pytest.raises(InvalidInput):
        chunks.check_sequence({i: f"{i:064x}" for i in range(1, 11)}, 5)
    twice = HEAD + chunks.index_statement("a" * 64, 1) + chunks.index_statement("b" * 64, 1)
    with pytest.raises(InvalidInput):
        chunks.read_index(twice)
