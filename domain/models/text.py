"""Text that stays on one line: what the scheduler reads is one line per Failure (SPEC 10, 11).

A database may be named `x<newline>y`, an operator may pass a `--target-user` with a newline, a
config value may hold a control character: shown as they are they would split a `Failure:` line
in two (or move the terminal's cursor). `printable` shows every character that is not printable
as its Python escape, so nothing is lost and nothing breaks the line.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """Return `text` with every unprintable character (newline, tab, escape...) shown escaped."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def one_line(text: str, separator: str = " / ") -> str:
    """Return a possibly multi-line message as one printable line, its lines joined."""
    return printable(separator.join(part for part in text.splitlines() if part.strip()))
