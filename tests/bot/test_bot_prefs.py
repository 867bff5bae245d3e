"""/prefs and /forget: buttons work for their owner only, and do what they say."""

from __future__ import annotations

import json
from typing import Any

from bot import texts
from bot.codec import Button, encode_button
from engine.types import Taste
from tests.bot.harness import Harness
from tests.bot.updates import ANN, ANN_ID, BOB, GROUP, command, press


def data(owner: dict[str, Any], action: str, arg: str = "") -> str:
    return encode_button(Button(owner["id"], action, arg))


def alerts(harness: Harness) -> list[dict[str, Any]]:
    return harness.api.called("answerCallbackQuery")


async def test_prefs_shows_a_keyboard_of_owned_buttons(harness: Harness) -> None:
    await harness.feed(command(ANN, "/prefs"))
    [sent] = harness.api.called("sendMessage")
    rows = sent["reply_markup"]["inline_keyboard"]
    assert all(row[0]["callback_data"].startswith("p:1:") for row in rows)
    assert "Safe mode: off" in sent["text"]


async def test_start_prefs_deep_link_opens_prefs(harness: Harness) -> None:
    await harness.feed(command(ANN, "/start prefs"))
    [sent] = harness.api.called("sendMessage")
    assert "inline_keyboard" in sent["reply_markup"]


async def test_prefs_in_a_group_links_to_private_chat(harness: Harness) -> None:
    await harness.feed(command(ANN, "/prefs", GROUP))
    [sent] = harness.api.called("sendMessage")
    url = sent["reply_markup"]["inline_keyboard"][0][0]["url"]
    assert url == "https://t.me/stickerbot_test?start=prefs"


async def test_another_user_cannot_press(harness: Harness) -> None:
    await harness.feed(press(BOB, data(ANN, "safe"), owner=ANN))
    [alert] = alerts(harness)
    assert alert["show_alert"] is True
    assert alert["text"] == texts.NOT_YOUR_BUTTON
    assert harness.engine.prefs == {}


async def test_toggles_update_prefs_and_redraw(harness: Harness) -> None:
    await harness.feed(press(ANN, data(ANN, "safe")))
    await harness.feed(press(ANN, data(ANN, "learn")))
    prefs = harness.engine.prefs["1"]
    assert prefs.safe_mode and prefs.learning_paused
    assert "Safe mode: on" in harness.api.called("editMessageText")[-1]["text"]


async def test_language_menu_and_choice(harness: Harness) -> None:
    await harness.feed(press(ANN, data(ANN, "lang")))
    menu = harness.api.called("editMessageText")[-1]["reply_markup"]["inline_keyboard"]
    assert any(b["callback_data"] == data(ANN, "lang", "fr") for row in menu for b in row)
    await harness.feed(press(ANN, data(ANN, "lang", "fr")))
    assert harness.engine.prefs["1"].language == "fr"
    await harness.feed(press(ANN, data(ANN, "lang", "auto")))
    assert harness.engine.prefs["1"].language is None


async def test_taste_lists_packs_and_previews_styles(harness: Harness) -> None:
    harness.state.file_ids.remember("u001", "file-u001")
    harness.engine.user_taste = Taste(top_packs=[("pack", 0.8)], styles=[(1.0, "u001")], events=4)
    await harness.feed(press(ANN, data(ANN, "taste")))
    [summary] = harness.api.called("sendMessage")
    assert "pack: 80%" in summary["text"]
    [preview] = harness.api.called("sendSticker")
    assert preview["sticker"] == "file-u001"
    assert "type in" not in summary["text"]  # no language learnt yet: none named


async def test_taste_names_the_languages_picks_were_typed_in(harness: Harness) -> None:
    harness.engine.user_taste = Taste(top_packs=[("pack", 1.0)], events=3, languages=["it", "xx"])
    await harness.feed(press(ANN, data(ANN, "taste")))
    [summary] = harness.api.called("sendMessage")
    assert "You type in: Italiano, xx." in summary["text"]  # a name where one is known


async def test_reset_taste(harness: Harness) -> None:
    await harness.feed(press(ANN, data(ANN, "reset")))
    assert harness.engine.resets == ["1"]


async def test_export_sends_a_json_document(harness: Harness) -> None:
    await harness.feed(press(ANN, data(ANN, "export")))
    [sent] = harness.api.called("sendDocument")
    name, content, _ = sent["_files"]["document"]
    assert name == texts.EXPORT_FILENAME
    assert json.loads(content) == {"user": "1", "events": []}


async def test_forget_asks_then_deletes_everything(harness: Harness) -> None:
    harness.state.window.add(ANN_ID, "remember me")
    await harness.feed(command(ANN, "/forget"))
    [asked] = harness.api.called("sendMessage")
    confirm = asked["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert harness.engine.forgotten == []
    await harness.feed(press(BOB, confirm, owner=ANN))
    assert harness.engine.forgotten == []
    await harness.feed(press(ANN, confirm))
    assert harness.engine.forgotten == ["1"]
    assert harness.state.window.latest(ANN_ID) == []
    assert harness.api.called("editMessageText")[-1]["text"] == texts.FORGET_DONE


async def test_forget_cancel_keeps_data(harness: Harness) -> None:
    await harness.feed(press(ANN, data(ANN, "forget_no")))
    assert harness.engine.forgotten == []
