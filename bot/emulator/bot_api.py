"""All Bot API methods the emulator implements, by lower-cased name (names are case-blind)."""

from __future__ import annotations

from . import api_edits, api_files, api_meta, api_queries, api_send, api_updates
from .api_types import Handler

METHODS: dict[str, Handler] = {
    **api_meta.METHODS,
    **api_updates.METHODS,
    **api_send.METHODS,
    **api_edits.METHODS,
    **api_queries.METHODS,
    **api_files.METHODS,
}
