"""Every file the emulator knows: stable ids derived from content, bytes on demand."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .models import compact

# Real file_ids start with a type-specific prefix; keeping it makes ids look familiar in logs.
FILE_ID_PREFIX = {
    "sticker": "CAACAgIAAxkBAA",
    "document": "BQACAgIAAxkBAA",
    "photo": "AgACAgIAAxkBAA",
}
FOLDER = {"sticker": "stickers", "document": "documents", "photo": "photos"}
UNIQUE_ID_BYTES = 9  # 12 base64 characters, the length of real file_unique_ids
FILE_ID_BYTES = 30  # 40 base64 characters after the prefix: unique enough, still readable


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    file_path: str
    file_size: int
    source: bytes | Path  # pack files stay on disk; uploads live in memory
    file_name: str | None = None
    mime_type: str | None = None

    def read(self) -> bytes:
        return self.source if isinstance(self.source, bytes) else self.source.read_bytes()

    def to_file_json(self) -> dict[str, Any]:
        """The `File` object getFile returns."""
        return compact(
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": self.file_size,
                "file_path": self.file_path,
            }
        )


class FileStore:
    """file_id and file_path lookups. Same content and kind give the same ids across runs."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}

    def add(
        self,
        source: bytes | Path,
        kind: str,
        suffix: str,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        data = source if isinstance(source, bytes) else source.read_bytes()
        digest = hashlib.sha256(data).digest()
        file_id = FILE_ID_PREFIX.get(kind, "") + _b64(
            hashlib.sha256(kind.encode() + digest).digest()[:FILE_ID_BYTES]
        )
        existing = self._by_id.get(file_id)
        if existing is not None:
            return existing
        file_path = f"{FOLDER.get(kind, kind)}/file_{len(self._by_id)}{suffix.lower()}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id="AgAD" + _b64(digest[:UNIQUE_ID_BYTES]),
            kind=kind,
            file_path=file_path,
            file_size=len(data),
            source=source,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._by_id[file_id] = stored
        self._by_path[file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)
