"""The order of the index's graphs in a text search's ranking, kept between searches.

The walk of a common term (walk.py) reads the graphs once per depth key, by key then IRI.
Reading and sorting every graph is linear in the graphs (0.1 s at 100,000), and the graphs
and their keys change only with the index's version and the depth keys: the order is kept
until either changes. Blocking (it reads the index through the reader it is given); this
module must never write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from colony_actor.colony.fulltext import walk


class GraphOrder:
    """The ranking's graph order as of the last (depth keys, index version) asked for."""

    def __init__(self) -> None:
        self._order: tuple[Mapping[str, list[int]], int, walk.Order] | None = None

    def order(self, reader: sqlite3.Connection, depths: Mapping[str, list[int]],
              version: int) -> walk.Order:
        cached = self._order  # one tuple, replaced whole: safe to read from any thread
        if cached is None or cached[0] is not depths or cached[1] != version:
            cached = self._order = (depths, version, walk.graph_order(reader, depths))
        return cached[2]
