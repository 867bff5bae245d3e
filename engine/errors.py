"""Typed engine errors. Each message is safe to show a user and says what to do."""

from __future__ import annotations


class StickerbotError(Exception):
    """Base class: `str(error)` is a one-line, user-safe message."""


class BadQuery(StickerbotError):
    """The query text cannot be answered as given (too long, not text)."""


class UnknownLanguage(StickerbotError):
    """A language code names no language the bundled keyword table holds."""


class UnknownSticker(StickerbotError):
    """An event names a sticker the catalog does not hold."""


class CatalogError(StickerbotError):
    """A catalog file is malformed (names the file, line and field), or at `line` 0 the file or
    folder as a whole is wrong (missing, or in the way)."""

    def __init__(self, path: str, line: int, field: str, problem: str) -> None:
        if line:
            message = f"{path}:{line}: field '{field}' {problem}; fix that line and run again"
        else:
            message = f"{path} {problem}"
        super().__init__(message)
        self.path, self.line, self.field = path, line, field


class StoreTooNew(StickerbotError):
    """The database was written by a newer Stickerbot than this one."""


class StoreUnavailable(StickerbotError):
    """The configured database cannot be reached or used."""


class IndexMismatch(StickerbotError):
    """An index folder does not match this code or this catalog."""


class ModelError(StickerbotError):
    """A model folder is missing, incomplete or inconsistent."""
