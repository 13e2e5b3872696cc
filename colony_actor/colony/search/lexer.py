"""A SPARQL lexer: a query's text as tokens, in one pass, or InvalidInput.

It knows the terminals of SPARQL 1.1 (and the few symbols SPARQL 1.2 adds): strings of all
four kinds with their escapes, IRIs, comments, prefixed names (escapes of PN_LOCAL_ESC and
`%` included), blank node labels, variables, numbers, language tags, words (keywords and
function names) and punctuation. What the grammar does not allow it refuses rather than
guesses: anything it cannot tokenize is InvalidInput, so a text is only ever read one way.

Linear in the text's length: every pattern is matched once from where a token starts and
never fails after scanning more than the token it would make, except an IRI that turns out
to be a `<` (its scan stops at the next `<`, so no character is scanned twice that way).
Pure; this module must never run a query, and never accept a character it cannot place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Final

from colony_actor.colony.errors import InvalidInput


class Kind(Enum):
    SPACE = "space"
    COMMENT = "comment"
    IRI = "iri"
    STRING = "string"
    VARIABLE = "variable"
    BLANK = "blank node"
    NAME = "prefixed name"
    LANGTAG = "language tag"
    NUMBER = "number"
    WORD = "word"
    PUNCT = "punctuation"


@dataclass(frozen=True)
class Token:
    kind: Kind
    start: int
    end: int
    text: str


_BASE: Final = ("A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
                "\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf"
                "\ufdf0-\ufffd\U00010000-\U000effff")
_CHARS_U: Final = _BASE + "_"
_CHARS: Final = _CHARS_U + "\\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_UCHAR: Final = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
_ECHAR: Final = r"""\\[tbnrf\\"']"""
_ESCAPE: Final = f"{_ECHAR}|{_UCHAR}"
_PLX: Final = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"

_SPACE: Final = re.compile(r"[ \t\r\n]+")
# SPARQL ends a comment at a line end, `\r` as well as `\n` (pyoxigraph does).
_COMMENT: Final = re.compile(r"#[^\r\n]*")
_IRI: Final = re.compile(rf"""<(?:[^<>"{{}}|^`\\\x00-\x20]|{_UCHAR})*>""")
_STRINGS: Final = {
    "'''": re.compile(rf"'''(?:(?:'|'')?(?:[^'\\]|{_ESCAPE}))*'''"),
    '"""': re.compile(rf'"""(?:(?:"|"")?(?:[^"\\]|{_ESCAPE}))*"""'),
    "'": re.compile(rf"'(?:[^'\\\r\n]|{_ESCAPE})*'"),
    '"': re.compile(rf'"(?:[^"\\\r\n]|{_ESCAPE})*"'),
}
_VARIABLE: Final = re.compile(
    rf"[?$][{_CHARS_U}0-9][{_CHARS_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*")
# A run of name characters and dots: a prefix (then `:`), or words and dots.
_RUN: Final = re.compile(rf"[{_CHARS}.]*")
_LOCAL_START: Final = re.compile(rf"[{_CHARS_U}:0-9]|{_PLX}")
_LOCAL_RUN: Final = re.compile(rf"(?:[{_CHARS}.:]|{_PLX})*")
_BLANK_START: Final = re.compile(rf"_:[{_CHARS_U}0-9]")
_LANGTAG: Final = re.compile(r"@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*(?:--[a-zA-Z]+)?")
_NUMBER: Final = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WORD: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PUNCT: Final = frozenset("{}()[];,.*/|^!=<>&+-?~")
_NAME_START: Final = re.compile(f"[{_BASE}]")


def tokenize(sparql: str) -> Iterator[Token]:
    """The tokens of `sparql`, spaces and comments included, in order; InvalidInput at
    the first character that starts no token."""
    position = 0
    size = len(sparql)
    while position < size:
        char = sparql[position]
        found = _one(sparql, position, char)
        if found is None:
            raise InvalidInput(f"The SPARQL query cannot be read at {_where(sparql, position)}: "
                               f"unexpected {_shown(sparql, position)}")
        yield from found
        position = found[-1].end


def _one(text: str, at: int, char: str) -> list[Token] | None:
    """The token(s) starting at `at` (more than one where a run of words and dots splits),
    or None."""
    if char in " \t\r\n":
        return _match(Kind.SPACE, _SPACE, text, at)
    if char == "#":
        return _match(Kind.COMMENT, _COMMENT, text, at)
    if char == "<":
        return _match(Kind.IRI, _IRI, text, at) or [Token(Kind.PUNCT, at, at + 1, "<")]
    if char in "'\"":
        quote = text[at:at + 3] if text.startswith(char * 3, at) else char
        return _match(Kind.STRING, _STRINGS[quote], text, at)
    if char in "?$":
        found = _match(Kind.VARIABLE, _VARIABLE, text, at)
        if found or char == "$":
            return found
        return [Token(Kind.PUNCT, at, at + 1, "?")]
    if char == "_":
        return _blank(text, at)
    if char == "@":
        return _match(Kind.LANGTAG, _LANGTAG, text, at)
    if "0" <= char <= "9" or (char == "." and "0" <= text[at + 1:at + 2] <= "9"):
        return _match(Kind.NUMBER, _NUMBER, text, at)
    if char == ":":
        return [_name(text, at, at)]
    if _NAME_START.match(char):
        return _run(text, at)
    if char in _PUNCT:
        return [Token(Kind.PUNCT, at, at + 1, char)]
    return None


def _match(kind: Kind, pattern: re.Pattern[str], text: str, at: int) -> list[Token] | None:
    found = pattern.match(text, at)
    if found is None or found.end() == at:
        return None
    return [Token(kind, at, found.end(), found.group())]


def _run(text: str, at: int) -> list[Token] | None:
    """A prefixed name (`PN_PREFIX ':' PN_LOCAL?`), or words separated by dots; None for
    anything else (a name character in a run no colon follows, which no grammar rule
    allows): refused whole, so that nothing in it is scanned twice."""
    end = _RUN.match(text, at).end()  # type: ignore[union-attr]  # matches the empty text
    if text.startswith(":", end) and text[end - 1] != ".":
        return [_name(text, at, end)]
    tokens: list[Token] = []
    position = at
    while position < end:
        if text[position] == ".":
            tokens.append(Token(Kind.PUNCT, position, position + 1, "."))
            position += 1
            continue
        word = _WORD.match(text, position)
        if word is None or (word.end() < end and text[word.end()] != "."):
            return None
        tokens.append(Token(Kind.WORD, position, word.end(), word.group()))
        position = word.end()
    return tokens


def _name(text: str, at: int, colon: int) -> Token:
    """The prefixed name whose prefix is text[at:colon]; its local part, if any, never
    ends with a dot (SPARQL's PN_LOCAL)."""
    end = colon + 1
    if _LOCAL_START.match(text, end):
        end = _LOCAL_RUN.match(text, end).end()  # type: ignore[union-attr]
        while text[end - 1] == "." and not _escaped(text, end - 1):
            end -= 1
    return Token(Kind.NAME, at, end, text[at:end])


def _blank(text: str, at: int) -> list[Token] | None:
    if not _BLANK_START.match(text, at):
        return None
    end = _RUN.match(text, at + 2).end()  # type: ignore[union-attr]
    while text[end - 1] == ".":
        end -= 1
    return [Token(Kind.BLANK, at, end, text[at:end])]


def _escaped(text: str, index: int) -> bool:
    """Whether the character at `index` of a local name is the second of a `\\` escape
    (an odd number of backslashes before it)."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _where(text: str, position: int) -> str:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}"


def _shown(text: str, position: int) -> str:
    char = text[position]
    return repr(char) if char.isprintable() else f"U+{ord(char):04X}"
