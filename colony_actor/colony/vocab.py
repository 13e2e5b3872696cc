"""The vocabulary and identifiers of Colony: IRIs, addresses, subjects, names, timestamps.

Everything a user can name (a pod address, a subject, an IRI, a pod name) is checked here
before it goes anywhere near a SPARQL string; what comes out is a pyoxigraph term, whose
`str()` is a correctly escaped N-Triples form. This module must never do I/O and never
hand back a user string that has not been validated.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from pyoxigraph import Literal, NamedNode

from colony_actor.colony.errors import InvalidInput

COLONY_NS: Final = "ant://colonylib/v1/"
POD: Final = NamedNode(COLONY_NS + "pod")
REF: Final = NamedNode(COLONY_NS + "ref")
DATA: Final = NamedNode(COLONY_NS + "data")
DEPTH: Final = NamedNode(COLONY_NS + "depth")
INDEX: Final = NamedNode(COLONY_NS + "index")
COUNT: Final = NamedNode(COLONY_NS + "count")
CREATION: Final = NamedNode(COLONY_NS + "creation")
MODIFIED: Final = NamedNode(COLONY_NS + "modified")
NAME: Final = NamedNode("http://schema.org/name")
DESCRIPTION: Final = NamedNode("http://schema.org/description")
CONTENT_SIZE: Final = NamedNode("http://schema.org/contentSize")
RDF_TYPE: Final = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDF_LANG_STRING: Final = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#langString")
XSD_INTEGER: Final = NamedNode("http://www.w3.org/2001/XMLSchema#integer")
XSD_STRING: Final = NamedNode("http://www.w3.org/2001/XMLSchema#string")

CONFIG_POD_NAME: Final = "User Configuration"

# Local bookkeeping: a named graph in the same store (so that an edit and its queueing
# are one transaction) that is never uploaded and never searched.
LOCAL_NS: Final = "ant://colony-actor/local/"
LOCAL_GRAPH: Final = NamedNode("ant://colony-actor/local")
UPDATE_SEQ: Final = NamedNode(LOCAL_NS + "update")  # <pod> upd n: pending, edit sequence n
REMOVED: Final = NamedNode(LOCAL_NS + "removed")  # <pod> rm "": removed, not yet on network
REMOVED_SCRATCHPAD: Final = NamedNode(LOCAL_NS + "removed-scratchpad")  # <pod> rs <scratch>
POINTER_COUNTER: Final = NamedNode(LOCAL_NS + "pointer-counter")
SCRATCHPAD_COUNTER: Final = NamedNode(LOCAL_NS + "scratchpad-counter")
KEY_INDEX: Final = NamedNode(LOCAL_NS + "key-index")
# <graph> gen "token": changed by every write to the graph, in the same transaction; the
# full-text index records the token it reflects (fulltext/index.py).
INDEX_GENERATION: Final = NamedNode(LOCAL_NS + "fulltext-generation")
# <local graph> seal "token": written at a clean close, with the same token in the
# full-text index, and removed at the next open (store/graph.py): the index is in step.
INDEX_SEAL: Final = NamedNode(LOCAL_NS + "fulltext-seal")

# Predicates users may not write through put_subject_data: they carry Colony's own
# bookkeeping, and user copies would corrupt the registry or the chunk index.
RESERVED_PREFIXES: Final = (COLONY_NS, "ant://colony-actor/")

NAME_MAX: Final = 200
_HEX64: Final = re.compile(r"[0-9a-fA-F]{64}")
# A pod's (or scratchpad's) node, whole: ant:// and the address (a SPARQL regex too).
NODE_PATTERN: Final = "ant://[0-9a-f]{64}"
_NODE: Final = re.compile(NODE_PATTERN)
_TOKEN: Final = re.compile(r"[A-Za-z0-9._~-]{1,256}")
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_IRI_FORBIDDEN: Final = frozenset('<>"{}|^`\\')
IRI_MAX: Final = 4096



def pod_node(address: str) -> NamedNode:
    """The IRI of a pod (and of its graph): `ant://<address>`; `address` already checked."""
    return NamedNode("ant://" + address)


def text(value: str) -> Literal:
    """A plain string literal, the way Colony writes its own numbers, dates and names."""
    return Literal(value)


def normalize_address(value: object) -> str:
    """A pod or record address from bare hex or `ant://<hex>`, as 64 lowercase hex."""
    if isinstance(value, str):
        raw = value[len("ant://"):] if value.startswith("ant://") else value
        if _HEX64.fullmatch(raw):
            return raw.lower()
    raise InvalidInput(f"Invalid address {_shorten(value)}: expected 64 hex digits, "
                       "optionally prefixed by ant://")


def address_of_node(term: object) -> str | None:
    """The address a term names, if it is exactly `ant://<64 lowercase hex>`."""
    value = getattr(term, "value", None)
    if isinstance(term, NamedNode) and isinstance(value, str) and _NODE.fullmatch(value):
        return value[len("ant://"):]
    return None


def is_address(value: object) -> bool:
    try:
        normalize_address(value)
    except InvalidInput:
        return False
    return True


def normalize_subject(value: object) -> NamedNode:
    """A subject: bare 64 hex or `ant://<hex>` (both `ant://<lowercase hex>`), or `ant://` and
    a safe token. Anything else is refused, so a subject never needs escaping."""
    if isinstance(value, str):
        if is_address(value):
            return pod_node(normalize_address(value))
        if value.startswith("ant://") and _TOKEN.fullmatch(value[len("ant://"):]):
            return NamedNode(value)
    raise InvalidInput(f"Invalid subject {_shorten(value)}: expected 64 hex digits, or ant:// "
                       "followed by letters, digits and . _ ~ -")


def check_iri(value: object, what: str = "IRI") -> NamedNode:
    """An absolute IRI as a NamedNode; refuses characters that could break out of `<...>`."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"Invalid {what}: expected a non-empty absolute IRI")
    if len(value) > IRI_MAX:
        raise InvalidInput(f"Invalid {what}: longer than {IRI_MAX} characters")
    for char in value:
        if char in _IRI_FORBIDDEN or char.isspace() or unicodedata.category(char) in {
                "Cc", "Cs", "Cn", "Zl", "Zp"}:
            raise InvalidInput(f"Invalid {what} {_shorten(value)}: it contains {char!r}")
    if not _SCHEME.match(value):
        raise InvalidInput(f"Invalid {what} {_shorten(value)}: it has no scheme (e.g. http:)")
    try:
        return NamedNode(value)
    except ValueError as exc:
        raise InvalidInput(f"Invalid {what} {_shorten(value)}: {exc}") from None


def check_pod_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("A pod name must be a non-empty string")
    if len(value) > NAME_MAX:
        raise InvalidInput(f"A pod name must be at most {NAME_MAX} characters")
    for char in value:
        if unicodedata.category(char) in {"Cc", "Cs"} or char in "\u2028\u2029":
            raise InvalidInput("A pod name must not contain control characters")
    return value


def is_reserved_predicate(iri: str) -> bool:
    return iri.startswith(RESERVED_PREFIXES)


def _shorten(value: object, limit: int = 80) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else shown[:limit] + "...'"
