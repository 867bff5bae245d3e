"""The settings screen: its text and inline keyboards, built from a user's preferences."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import texts
from bot.codec import Button, encode_button
from engine.types import Prefs

LANGUAGES_PER_ROW = 2  # language names fit two to a row on a phone
AUTO_LANGUAGE = "auto"  # the button arg that clears the language preference


def prefs_text(prefs: Prefs) -> str:
    """The settings summary shown above the keyboard."""
    language = texts.LANGUAGES.get(prefs.language or "", texts.AUTO_LANGUAGE)
    return texts.PREFS_TITLE.format(
        learning=texts.PAUSED if prefs.learning_paused else texts.ON,
        safe=texts.ON if prefs.safe_mode else texts.OFF,
        language=language,
    )


def prefs_keyboard(owner_id: int, prefs: Prefs) -> InlineKeyboardMarkup:
    """One button per setting; the labels say what pressing will do."""
    learn = texts.BUTTON_RESUME if prefs.learning_paused else texts.BUTTON_PAUSE
    safe = texts.BUTTON_SAFE_OFF if prefs.safe_mode else texts.BUTTON_SAFE_ON
    rows = [
        (texts.BUTTON_TASTE, "taste"),
        (texts.BUTTON_RESET, "reset"),
        (learn, "learn"),
        (safe, "safe"),
        (texts.BUTTON_LANGUAGE, "lang"),
        (texts.BUTTON_EXPORT, "export"),
        (texts.BUTTON_FORGET, "forget"),
    ]
    return InlineKeyboardMarkup([[_button(owner_id, label, action)] for label, action in rows])


def language_keyboard(owner_id: int) -> InlineKeyboardMarkup:
    """A button per supported language, automatic, and back."""
    choices = [(name, code) for code, name in texts.LANGUAGES.items()]
    choices.append((texts.AUTO_LANGUAGE, AUTO_LANGUAGE))
    buttons = [_button(owner_id, name, "lang", code) for name, code in choices]
    rows = [buttons[i : i + LANGUAGES_PER_ROW] for i in range(0, len(buttons), LANGUAGES_PER_ROW)]
    rows.append([_button(owner_id, texts.BUTTON_BACK, "back")])
    return InlineKeyboardMarkup(rows)


def forget_keyboard(owner_id: int) -> InlineKeyboardMarkup:
    """Confirm or cancel deleting the user's data."""
    return InlineKeyboardMarkup(
        [
            [_button(owner_id, texts.BUTTON_CONFIRM_FORGET, "forget_yes")],
            [_button(owner_id, texts.BUTTON_CANCEL, "forget_no")],
        ]
    )


def _button(owner_id: int, label: str, action: str, arg: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=encode_button(Button(owner_id, action, arg)))
