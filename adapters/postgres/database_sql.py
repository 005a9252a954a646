r"""Rewrite an archive's database-level SQL for another database name (pure functions).

`pg_restore --create` applies what pg_dump keeps of the database itself (its DATABASE, DATABASE
PROPERTIES, COMMENT, ACL and SECURITY LABEL entries) to the database it creates under the source
name. To bring them back under another name, each statement is lexed (quotes, dollar quotes,
comments and psql meta-commands respected), recognised by its shape, and the one token that
names the database is replaced by the target's quoted name, whatever quoting pg_dump chose for
the source name (`fmtId` quotes only when it must, by rules that change between versions, so the
token is compared by its value, not its spelling). Nothing else in a statement is touched: a
comment or a setting that happens to contain the database's name keeps it. A statement of
another shape, or naming another database, is returned as unknown and never applied. Session
set-up lines (`SET client_encoding ...`, `SELECT pg_catalog.set_config(...)`, `\connect`,
`\restrict`) are dropped: they configure pg_restore's session, not the database. Tested in
tests/unit/test_database_sql.py and against real archives in tests/integration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ports.restorer import DatabaseProperties, DatabaseStatement, PropertyKind

_WORD = re.compile(r"[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*")
_DOLLAR = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")
_NUMBER = re.compile(r"[0-9][0-9.eE+-]*")
_STD_STRINGS_OFF = re.compile(r"^\s*SET\s+standard_conforming_strings\s*=\s*off\s*;", re.I | re.M)


class Kind(Enum):
    """What a lexed token is."""

    WORD = "word"
    IDENT = "quoted identifier"
    STRING = "string"
    SYMBOL = "symbol"
    META = "psql meta-command"


@dataclass(frozen=True, slots=True)
class Token:
    """One token and where it lies in the text."""

    kind: Kind
    text: str
    start: int
    end: int

    @property
    def keyword(self) -> str:
        """Return a word in upper case (how SQL compares keywords), else empty."""
        return self.text.upper() if self.kind is Kind.WORD else ""

    @property
    def name(self) -> str | None:
        """Return the identifier this token names (folded or unquoted), None if it is none."""
        if self.kind is Kind.WORD:
            return self.text.lower()
        if self.kind is Kind.IDENT:
            return self.text[1:-1].replace('""', '"')
        return None


class SqlLexError(ValueError):
    """The text ends inside a quote or a comment."""


def lex(text: str) -> list[Token]:
    """Return the tokens of `text`; comments and whitespace are dropped.

    Raises:
        SqlLexError: a quote or comment does not end.
    """
    escapes_everywhere = _STD_STRINGS_OFF.search(text) is not None
    tokens: list[Token] = []
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "\\" and _line_start(text, i):
            end = _line_end(text, i)
            tokens.append(Token(Kind.META, text[i:end], i, end))
            i = end
        elif text.startswith("--", i):
            i = _line_end(text, i)
        elif text.startswith("/*", i):
            i = _block_comment_end(text, i)
        elif char == "'":
            end = _quoted_end(text, i, "'", backslash=escapes_everywhere)
            tokens.append(Token(Kind.STRING, text[i:end], i, end))
            i = end
        elif char == '"':
            end = _quoted_end(text, i, '"', backslash=False)
            tokens.append(Token(Kind.IDENT, text[i:end], i, end))
            i = end
        elif char == "$" and (dollar := _DOLLAR.match(text, i)):
            close = text.find(dollar.group(), dollar.end())
            if close < 0:
                raise SqlLexError(f"a dollar quote {dollar.group()} does not end")
            end = close + len(dollar.group())
            tokens.append(Token(Kind.STRING, text[i:end], i, end))
            i = end
        elif word := _WORD.match(text, i):
            end = word.end()
            if word.group() in ("E", "e") and text.startswith("'", end):
                end = _quoted_end(text, end, "'", backslash=True)
                tokens.append(Token(Kind.STRING, text[i:end], i, end))
            else:
                tokens.append(Token(Kind.WORD, word.group(), i, end))
            i = end
        elif number := _NUMBER.match(text, i):
            tokens.append(Token(Kind.SYMBOL, number.group(), i, number.end()))
            i = number.end()
        else:
            tokens.append(Token(Kind.SYMBOL, char, i, i + 1))
            i += 1
    return tokens


def statements(text: str) -> list[tuple[str, list[Token]]]:
    """Split `text` into statements (`;` ended) and meta-commands, each with its tokens.

    Token positions are relative to the statement's text.
    """
    found: list[tuple[str, list[Token]]] = []
    current: list[Token] = []

    def flush() -> None:
        if current:
            start, end = current[0].start, current[-1].end
            shifted = [Token(t.kind, t.text, t.start - start, t.end - start) for t in current]
            found.append((text[start:end], shifted))
            current.clear()

    for token in lex(text):
        if token.kind is Kind.META:
            flush()
            current.append(token)
            flush()
        elif token.kind is Kind.SYMBOL and token.text == ";":
            flush()
        else:
            current.append(token)
    flush()
    return found


def quote_ident(name: str) -> str:
    """Return `name` as a quoted SQL identifier (always quoted: right for any name)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class _Shape:
    """A recognised statement: its kind (None: session set-up) and its database token."""

    kind: PropertyKind | None
    database: int | None


def database_properties(text: str, target: str) -> DatabaseProperties:
    """Return the database-level statements of `text`, rewritten to name `target`.

    Raises:
        SqlLexError: the text ends inside a quote or a comment.
    """
    source: str | None = None
    create: str | None = None
    found: list[DatabaseStatement] = []
    unknown: list[str] = []
    for sql, tokens in statements(text):
        shape = _shape(tokens)
        if shape is None:
            unknown.append(sql)
            continue
        if shape.database is None:
            if shape.kind is not None:
                found.append(DatabaseStatement(shape.kind, sql))
            continue
        token = tokens[shape.database]
        named = token.name
        if named is None or (source is not None and named != source):
            unknown.append(sql)
            continue
        source = named
        rewritten = sql[: token.start] + quote_ident(target) + sql[token.end :]
        if shape.kind is None:
            create = rewritten
        else:
            found.append(DatabaseStatement(shape.kind, rewritten))
    return DatabaseProperties(
        source=source or "", create=create, statements=tuple(found), unknown=tuple(unknown)
    )


def _shape(tokens: list[Token]) -> _Shape | None:
    """Recognise a statement; None when it is of no shape known here."""
    words = [token.keyword for token in tokens]
    head = words[:3]
    if tokens[0].kind is Kind.META:
        return _Shape(None, None)
    if head == ["SET", "SESSION", "AUTHORIZATION"] or head == ["RESET", "SESSION", "AUTHORIZATION"]:
        # A grant made by another role than the owner is replayed as that role.
        return _Shape(PropertyKind.PRIVILEGE, None)
    if words[0] == "SET" or (words[0] == "SELECT" and "set_config" in (t.text for t in tokens)):
        return _Shape(None, None)
    shape: _Shape | None = None
    if head[:2] == ["CREATE", "DATABASE"]:
        shape = _Shape(None, 2)
    elif head[:2] == ["ALTER", "DATABASE"]:
        owner = words[3:5] == ["OWNER", "TO"]
        shape = _Shape(PropertyKind.OWNER if owner else PropertyKind.SETTING, 2)
    elif head[:2] == ["ALTER", "ROLE"] and words[3:5] == ["IN", "DATABASE"]:
        shape = _Shape(PropertyKind.ROLE_SETTING, 5)
    elif words[:3] == ["COMMENT", "ON", "DATABASE"]:
        shape = _Shape(PropertyKind.COMMENT, 3)
    elif words[:2] == ["SECURITY", "LABEL"]:
        shape = _after_on_database(words, PropertyKind.SECURITY_LABEL)
    elif words[0] in ("GRANT", "REVOKE"):
        shape = _after_on_database(words, PropertyKind.PRIVILEGE)
    if shape is None or shape.database is None or shape.database >= len(tokens):
        return None
    follows = tokens[shape.database + 1] if shape.database + 1 < len(tokens) else None
    if follows is not None and follows.text in (",", "."):
        return None  # several databases, or not a plain name
    return shape


def _after_on_database(words: list[str], kind: PropertyKind) -> _Shape | None:
    for index in range(len(words) - 1):
        if words[index] == "ON" and words[index + 1] == "DATABASE":
            return _Shape(kind, index + 2)
    return None


def _line_start(text: str, index: int) -> bool:
    line = text.rfind("\n", 0, index) + 1
    return text[line:index].strip() == ""


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end


def _block_comment_end(text: str, index: int) -> int:
    depth, i = 0, index
    while i < len(text):
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    raise SqlLexError("a /* comment does not end")


def _quoted_end(text: str, index: int, quote: str, *, backslash: bool) -> int:
    i = index + 1
    while i < len(text):
        char = text[i]
        if backslash and char == "\\":
            i += 2
        elif char == quote:
            if text.startswith(quote, i + 1):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    raise SqlLexError(f"a {quote} quote does not end")
