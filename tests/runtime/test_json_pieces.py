"""JSON written in pieces is the text one call of the encoder writes."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from quart_trio import QuartTrio

from colony_actor.runtime import json_pieces

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text()
    | st.datetimes(timezones=st.just(UTC)),
    lambda inner: st.lists(inner, max_size=7) | st.tuples(inner, inner)
    | st.dictionaries(st.text(), inner, max_size=5)
    | st.dictionaries(st.integers(), inner, max_size=3),
    max_leaves=40)
# What the API encodes with: the app's provider (its default() writes dates), compact.
PROVIDER = functools.partial(QuartTrio(__name__).json.dumps, separators=(",", ":"),
                             sort_keys=False, ensure_ascii=True)


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


@given(JSON_VALUES, st.integers(min_value=1, max_value=4))
def test_pieces_make_the_same_text_as_one_call(value: Any, piece_items: int) -> None:
    assert json_pieces.encode_bytes(value, compact, "", piece_items) == compact(value).encode()
    expected = (PROVIDER(value) + "\n").encode()
    assert json_pieces.encode_bytes(value, PROVIDER, "\n", piece_items) == expected


def test_a_long_list_is_written_in_pieces() -> None:
    calls: list[Any] = []

    def dumps(value: Any) -> str:
        calls.append(value)
        return compact(value)

    rows = [{"n": n, "at": datetime(2026, 11, 29, tzinfo=UTC)} for n in range(10)]
    written = json_pieces.encode_bytes({"rows": rows}, dumps, "", 4)
    assert written == compact({"rows": rows}).encode()
    assert [c for c in calls if isinstance(c, list)] == [rows[0:4], rows[4:8], rows[8:10]]


def test_raw_json_is_written_as_it_is() -> None:
    stored = json_pieces.Raw(b'{"rows":[1,2.50,"\\u00e9"]}')
    value = {"id": "j", "result": stored, "error": None}
    expected = '{"id":"j","result":{"rows":[1,2.50,"\\u00e9"]},"error":null}'
    assert json_pieces.encode_bytes(value, compact, "\n") == (expected + "\n").encode()


def test_raw_json_may_be_utf8() -> None:
    # pyoxigraph writes non-ASCII text as it is, not as \u escapes.
    stored = json_pieces.Raw('{"name":"Café 😀"}'.encode())
    value = {"result": stored, "note": "é"}
    body = json_pieces.encode_bytes(value, compact)
    assert body.decode() == '{"result":{"name":"Café 😀"},"note":"\\u00e9"}'
    assert json.loads(body) == {"result": {"name": "Café 😀"}, "note": "é"}
