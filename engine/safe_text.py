"""Text from clients made storable before it reaches a model or a database.

A Python string can hold what no database text column can: a lone surrogate ("\\ud800", which
JSON can carry and UTF-8 cannot encode; SQLite and PostgreSQL refuse it) and NUL (PostgreSQL text
holds none). Typed words and messages keep everything else, each such character replaced by
U+FFFD as a UTF-8 decoder does with broken bytes; a user id holding one is refused rather than
changed, so that two ids never become one.
"""

from __future__ import annotations

import re

from engine.errors import BadQuery

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    """`text` with each character no database can store replaced by U+FFFD."""
    return UNSTORABLE.sub(REPLACEMENT, text)


def storable_or_none(text: str | None) -> str | None:
    return None if text is None else storable(text)


def checked_user_id(user_id: str) -> str:
    """`user_id` itself; BadQuery when it holds a character no database can store."""
    if UNSTORABLE.search(user_id):
        raise BadQuery("user ids are plain text without NUL or lone surrogates; send a valid id")
    return user_id
