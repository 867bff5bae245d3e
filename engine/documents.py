"""Per-sticker text understanding: the fields the lexical and dense recall read.

- meaning: what the sticker shows or says (VLM caption, OCR text); when both are missing, the
  English name of its own emoji stands in, since that is all we know of it.
- emoji: names and keywords of the sticker's own `emoji` field in every shipped language.
- title: the pack's title (or name).
Crowd text (queries typed before picks) lives with the crowd statistics, since it grows live.
"""

from __future__ import annotations

from engine.emoji import EmojiKeywords
from engine.types import StickerRecord

MEANING_LANGUAGE = "en"  # emoji names used as a stand-in meaning, and for the trust check


def meaning_text(record: StickerRecord, emoji: EmojiKeywords) -> str:
    parts = [p.strip() for p in (record.caption, record.ocr) if p and p.strip()]
    if parts:
        return ". ".join(parts)
    return emoji_name(record, emoji)


def emoji_name(record: StickerRecord, emoji: EmojiKeywords) -> str:
    """The English label(s) of the sticker's emoji, or '' when it has none we know."""
    if not record.emoji:
        return ""
    labels = [
        words[0]
        for each in emoji.split(record.emoji)
        if (words := emoji.keywords(each, [MEANING_LANGUAGE]))
    ]
    return ", ".join(labels)


def emoji_text(record: StickerRecord, emoji: EmojiKeywords) -> str:
    if not record.emoji:
        return ""
    return " | ".join(emoji.keywords(record.emoji))


def title_text(record: StickerRecord) -> str:
    return record.set_title or record.set_name.replace("_", " ")


def has_own_meaning(record: StickerRecord) -> bool:
    """True when a caption or OCR text describes the sticker (not only its emoji)."""
    return any(p and p.strip() for p in (record.caption, record.ocr))
