"""/prefs and /forget: a user's taste, settings and data, behind buttons only they can press."""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot import texts
from bot.codec import Button, decode_button
from bot.keyboards import (
    AUTO_LANGUAGE,
    forget_keyboard,
    language_keyboard,
    prefs_keyboard,
    prefs_text,
)
from bot.state import BotState, get_state
from engine.types import Prefs

PREFS_DEEP_LINK = "https://t.me/{username}?start=prefs"

Action = Callable[[CallbackQuery, BotState, Button], Awaitable[None]]


async def prefs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the settings screen in the private chat (groups get a link to it)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    if message.chat.type != ChatType.PRIVATE:
        link = PREFS_DEEP_LINK.format(username=context.bot.username)
        button = InlineKeyboardButton(texts.OPEN_PRIVATE_BUTTON, url=link)
        await message.reply_text(
            texts.PREFS_IN_PRIVATE, reply_markup=InlineKeyboardMarkup([[button]])
        )
        return
    current = await get_state(context).engine.get_prefs(str(user.id))
    await message.reply_text(prefs_text(current), reply_markup=prefs_keyboard(user.id, current))


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask the user to confirm deleting everything about them."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    await message.reply_text(texts.FORGET_CONFIRM, reply_markup=forget_keyboard(user.id))


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Act on a settings button, if the person pressing it owns it."""
    query = update.callback_query
    if query is None:
        return
    button = decode_button(query.data or "")
    action = ACTIONS.get(button.action) if button is not None else None
    if button is None or action is None:
        await query.answer()
        return
    if button.owner_id != query.from_user.id:
        await query.answer(texts.NOT_YOUR_BUTTON, show_alert=True)
        return
    await action(query, get_state(context), button)


async def _show_taste(query: CallbackQuery, state: BotState, button: Button) -> None:
    taste = await state.engine.taste(str(button.owner_id))
    await query.answer()
    bot, chat_id = query.get_bot(), button.owner_id
    if taste.events == 0:
        await bot.send_message(chat_id, texts.TASTE_EMPTY)
        return
    lines = [texts.TASTE_HEADER.format(events=taste.events)]
    lines += [texts.TASTE_PACK_LINE.format(pack=p, share=s) for p, s in taste.top_packs]
    if taste.languages:
        names = ", ".join(texts.LANGUAGES.get(code, code) for code in taste.languages)
        lines.append(texts.TASTE_LANGUAGES.format(languages=names))
    previews = [state.file_ids.get(sticker_id) for _, sticker_id in taste.styles]
    sendable = [file_id for file_id in previews if file_id]
    if sendable:
        lines.append(texts.TASTE_STYLES.format(count=len(sendable)))
    await bot.send_message(chat_id, "\n".join(lines))
    for file_id in sendable:
        await bot.send_sticker(chat_id, file_id)


async def _reset_taste(query: CallbackQuery, state: BotState, button: Button) -> None:
    await state.engine.reset_taste(str(button.owner_id))
    await query.answer(texts.TASTE_RESET_DONE, show_alert=True)


async def _toggle_learning(query: CallbackQuery, state: BotState, button: Button) -> None:
    paused = await _update_prefs(query, state, button, "learning_paused")
    await query.answer(texts.LEARNING_PAUSED if paused else texts.LEARNING_RESUMED)


async def _toggle_safe(query: CallbackQuery, state: BotState, button: Button) -> None:
    safe = await _update_prefs(query, state, button, "safe_mode")
    await query.answer(texts.SAFE_ON if safe else texts.SAFE_OFF)


async def _language(query: CallbackQuery, state: BotState, button: Button) -> None:
    if not button.arg:
        await query.answer()
        await query.edit_message_text(
            texts.LANGUAGE_CHOOSE, reply_markup=language_keyboard(button.owner_id)
        )
        return
    uid = str(button.owner_id)
    language = None if button.arg == AUTO_LANGUAGE else button.arg
    if language is not None and language not in texts.LANGUAGES:
        await query.answer()
        return
    current = await state.engine.get_prefs(uid)
    updated = current.model_copy(update={"language": language})
    await state.engine.set_prefs(uid, updated)
    name = texts.LANGUAGES.get(language or "", texts.AUTO_LANGUAGE)
    await query.answer(texts.LANGUAGE_SET.format(language=name))
    await _show_prefs(query, button.owner_id, updated)


async def _back(query: CallbackQuery, state: BotState, button: Button) -> None:
    await query.answer()
    await _show_prefs(query, button.owner_id, await state.engine.get_prefs(str(button.owner_id)))


async def _export(query: CallbackQuery, state: BotState, button: Button) -> None:
    document = await state.engine.export_user(str(button.owner_id))
    payload = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode()
    await query.answer()
    await query.get_bot().send_document(
        button.owner_id,
        InputFile(io.BytesIO(payload), filename=texts.EXPORT_FILENAME),
        caption=texts.EXPORT_CAPTION,
    )


async def _ask_forget(query: CallbackQuery, state: BotState, button: Button) -> None:
    await query.answer()
    await query.edit_message_text(
        texts.FORGET_CONFIRM, reply_markup=forget_keyboard(button.owner_id)
    )


async def _forget_confirmed(query: CallbackQuery, state: BotState, button: Button) -> None:
    uid = str(button.owner_id)
    state.ingestor.forget_user(uid)  # events waiting for a pack would bring the user back
    await state.inbox.forget_user(uid)  # and so would their updates not handled yet
    await state.engine.forget_user(uid)
    state.window.forget(button.owner_id)
    await query.answer()
    await query.edit_message_text(texts.FORGET_DONE)


async def _forget_cancelled(query: CallbackQuery, state: BotState, button: Button) -> None:
    await query.answer()
    await query.edit_message_text(texts.FORGET_CANCELLED)


async def _update_prefs(query: CallbackQuery, state: BotState, button: Button, flag: str) -> bool:
    """Flip a boolean preference, redraw the screen, and return the new value."""
    uid = str(button.owner_id)
    current = await state.engine.get_prefs(uid)
    value = not getattr(current, flag)
    updated = current.model_copy(update={flag: value})
    await state.engine.set_prefs(uid, updated)
    await _show_prefs(query, button.owner_id, updated)
    return value


async def _show_prefs(query: CallbackQuery, owner_id: int, current: Prefs) -> None:
    keyboard = prefs_keyboard(owner_id, current)
    await query.edit_message_text(prefs_text(current), reply_markup=keyboard)


ACTIONS: dict[str, Action] = {
    "taste": _show_taste,
    "reset": _reset_taste,
    "learn": _toggle_learning,
    "safe": _toggle_safe,
    "lang": _language,
    "back": _back,
    "export": _export,
    "forget": _ask_forget,
    "forget_yes": _forget_confirmed,
    "forget_no": _forget_cancelled,
}
