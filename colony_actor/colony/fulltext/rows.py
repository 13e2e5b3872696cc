"""What the full-text index reads from the store: rows of literals, generation tokens,
the terms lower-cased, and the depth keys of the graphs.

Reads only, all blocking; this module must never write to the store, never index the
local graph nor read it but for generation tokens (a scan of the whole store passes over
it), and never paste a user string into SPARQL (terms are
pyoxigraph Literals).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Final

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, QuerySolutions, Store

from colony_actor.colony.jsonld import subject_tree_pattern
from colony_actor.colony.store.rows import KIND, LITERAL_ROWS, GraphRows, csv_rows, field
from colony_actor.colony.store.sparql import L, depth_key
from colony_actor.colony.vocab import (
    DEPTH,
    INDEX_GENERATION,
    LOCAL_GRAPH,
    RDF_LANG_STRING,
    XSD_INTEGER,
    XSD_STRING,
    text,
)

# Depth literals whose xsd:integer cast is int() of their text, when it is 1 to 18 digits.
_PLAIN_NUMBERS: Final = (XSD_STRING, XSD_INTEGER)
_DIGITS: Final = re.compile(r"[0-9]{1,18}")
# Rows (graph, subject, predicate, kind, text) of every literal of the graphs named.
_ALL_ROWS = (f"SELECT {field('g', 'h')} {field('x', 's')} {field('p', 'q')} {KIND} "
             "(LCASE(STR(?o)) AS ?l) WHERE { GRAPH ?g { ?x ?p ?o FILTER(isLiteral(?o)) } }")


def graph_rows(store: Store, graph: NamedNode) -> list[list[str]]:
    """The rows of one graph (subject, predicate, kind, text)."""
    return [row[1:] for row in rows_of_graphs(store, [graph])]


def rows_of_graphs(store: Store, graphs: Sequence[NamedNode]) -> list[list[str]]:
    """The rows of these graphs, each with its graph first: those `queried_rows` gives,
    built from the graphs' statements with no query (several times cheaper)."""
    return _rows(store, ((graph.value, quad) for graph in graphs
                         for quad in store.quads_for_pattern(None, None, None, graph)))


def every_row(store: Store, chunk: int = 20_000) -> Iterator[tuple[list[list[str]], int]]:
    """The rows of every pod graph, each with its graph first, by one scan of the store
    (far cheaper than a read per graph on a large store), in lists of about `chunk`
    statements, each with how many graphs the scan has entered so far."""
    statements = store.quads_for_pattern(None, None, None, None)
    graphs: set[str] = set()
    while read := list(islice(statements, chunk)):
        named = [(g.value, q) for q in read
                 if isinstance(g := q.graph_name, NamedNode) and g != LOCAL_GRAPH]
        graphs.update(g for g, _ in named)
        yield _rows(store, named), len(graphs)


def _rows(store: Store, quads: Iterable[tuple[str, Quad]]) -> list[list[str]]:
    """The rows of these (graph IRI, statement) pairs that have a literal object. A text is
    lower-cased here if it is ASCII (where Python and oxigraph agree), else by oxigraph's
    own LCASE, all such texts in one query."""
    out: list[list[str]] = []
    unicode: list[int] = []
    for graph, quad in quads:
        literal = quad.object
        if not isinstance(literal, Literal):
            continue
        subject = quad.subject
        # As the CSV of IF(isBlank(?x), ?x, STR(?x)): a quoted triple has no string.
        name = (subject.value if isinstance(subject, NamedNode) else
                "_:" + subject.value if isinstance(subject, BlankNode) else "")
        datatype = literal.datatype
        kind = "l" if datatype == RDF_LANG_STRING else "s" if datatype == XSD_STRING else "o"
        value = literal.value
        if not value.isascii():
            unicode.append(len(out))
        out.append([graph, name, quad.predicate.value, kind,
                    value.lower() if value.isascii() else value])
    if unicode:
        for number, lowered in zip(unicode, lcase(store, [out[n][4] for n in unicode]),
                                   strict=True):
            out[number][4] = lowered
    return out


def queried_rows(store: Store, graphs: Sequence[NamedNode]) -> list[list[str]]:
    """The rows of these graphs, each with its graph first, as one SPARQL query computes
    them: the reference `rows_of_graphs` must match (check.py compares with it)."""
    named: list[NamedNode | BlankNode] = list(graphs)
    return csv_rows(store, _ALL_ROWS, named_graphs=named)


def written_rows(store: Store, graph: NamedNode, written: GraphRows) -> list[list[str]]:
    """The rows of a graph just replaced wholly: those known before the write, and those of
    its blank nodes, read back under the names the store gave them."""
    if not written.blank:
        return written.rows
    return written.rows + csv_rows(store, LITERAL_ROWS.format(
        inner=f"GRAPH {graph} {{ ?x ?p ?o FILTER(isLiteral(?o) && isBlank(?x)) }}"))


def subject_rows(store: Store, graph: NamedNode, nodes: Iterable[NamedNode]) -> list[list[str]]:
    values = " ".join(str(n) for n in sorted(nodes, key=lambda n: n.value))
    return csv_rows(store, LITERAL_ROWS.format(
        inner=f"GRAPH {graph} {{ VALUES ?x {{ {values} }} ?x ?p ?o FILTER(isLiteral(?o)) }}"))


def _tree_pattern(roots: Iterable[NamedNode]) -> str:
    return " UNION ".join("{ " + subject_tree_pattern(r) + " }"
                          for r in sorted(roots, key=lambda n: n.value))


def tree_rows(store: Store, graph: NamedNode, roots: Iterable[NamedNode]) -> list[list[str]]:
    """The rows of these subjects and of the anonymous nodes nested under them."""
    # DISTINCT: a nested node reached along two paths is still one statement.
    return csv_rows(store, LITERAL_ROWS.format(
        inner=f"{{ SELECT DISTINCT ?x ?p ?o WHERE {{ GRAPH {graph} {{ {_tree_pattern(roots)} }} "
              "FILTER(isLiteral(?o)) } }"))


def tree_subjects(store: Store, graph: NamedNode, roots: Iterable[NamedNode]) -> set[str]:
    """These subjects and the anonymous nodes nested under them, as row subjects."""
    rows = csv_rows(
        store, f"SELECT DISTINCT {field('x', 's')} WHERE {{ GRAPH {graph} {{ "
               f"{_tree_pattern(roots)} }} }}")
    return {row[0] for row in rows}


def generations(store: Store, graphs: Iterable[NamedNode] | None = None) -> dict[str, str]:
    """The generation token of each graph (of these only, if given) that has one."""
    restrict = ""
    if graphs is not None:
        restrict = "VALUES ?g { " + " ".join(str(g) for g in graphs) + " } "
    rows = csv_rows(store, f"SELECT {field('g', 'h')} ?t WHERE {{ {restrict}GRAPH {L} {{ "
                           f"?g {INDEX_GENERATION} ?t }} }}")
    return {row[0]: row[1] for row in rows}


def lcase(store: Store, terms: Sequence[str]) -> list[str]:
    """The terms lower-cased by oxigraph's LCASE (the very function the scan applies)."""
    values = " ".join(f"({i} {text(t)})" for i, t in enumerate(terms))
    solutions = store.query(
        f"SELECT ?i (LCASE(?t) AS ?l) WHERE {{ VALUES (?i ?t) {{ {values} }} }}")
    assert isinstance(solutions, QuerySolutions)
    found = {int(row["i"].value): str(row["l"].value) for row in solutions}
    del solutions
    return [found[i] for i in range(len(terms))]


def depth_keys(store: Store, config: NamedNode) -> dict[str, list[int]]:
    """Each graph's depth sort keys as the text query computes them, one per depth
    statement (a graph without any ranks at `sparql.NO_DEPTH`). Read from the statements
    when every depth is a plain or xsd:integer string of at most 18 ASCII digits (the cast
    is then plain int()), else by the query's own expression."""
    out: dict[str, list[int]] = {}
    for quad in store.quads_for_pattern(None, DEPTH, None, config):
        graph, depth = quad.subject, quad.object
        if not isinstance(graph, NamedNode):
            continue
        if not (isinstance(depth, Literal) and depth.datatype in _PLAIN_NUMBERS
                and _DIGITS.fullmatch(depth.value)):
            return queried_depth_keys(store, config)
        out.setdefault(graph.value, []).append(int(depth.value))
    return out


def queried_depth_keys(store: Store, config: NamedNode) -> dict[str, list[int]]:
    """`depth_keys` as one SPARQL query computes them (any depth statement)."""
    rows = csv_rows(store, f"SELECT {field('g', 'h')} ({depth_key('d')} AS ?k) WHERE {{ "
                           f"GRAPH {config} {{ ?g {DEPTH} ?d }} FILTER(isIRI(?g)) }}")
    out: dict[str, list[int]] = {}
    for graph, key in rows:
        out.setdefault(graph, []).append(int(key))
    return out
