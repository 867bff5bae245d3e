"""Commands, start-up and errors: /help, /addset, /stats, setMyCommands, the error handler."""

from __future__ import annotations

from bot import texts
from engine.errors import StoreTooNew
from tests.bot.harness import Harness, serve_pack
from tests.bot.updates import ANN, BOB, GROUP, command, message, sticker


def replies(harness: Harness) -> list[str]:
    return [params["text"] for params in harness.api.called("sendMessage")]


async def test_start_up_sets_commands(harness: Harness) -> None:
    [call] = harness.api.called("setMyCommands")
    assert {c["command"] for c in call["commands"]} == set(texts.COMMANDS)


async def test_help_explains_inline_use(harness: Harness) -> None:
    await harness.feed(command(ANN, "/help"))
    await harness.feed(command(ANN, "/start"))
    assert all("@stickerbot_test" in text for text in replies(harness))


async def test_addset_ingests_and_reports(harness: Harness) -> None:
    serve_pack(harness.api, "fresh", 2)
    await harness.feed(command(ANN, "/addset https://t.me/addstickers/fresh"))
    await harness.settle()
    assert replies(harness) == [
        texts.ADDSET_QUEUED.format(name="fresh"),
        texts.ADDSET_DONE.format(name="fresh", count=2),
    ]


async def test_addset_bad_name_and_unknown_set(harness: Harness) -> None:
    serve_pack(harness.api, "fresh", 1)
    await harness.feed(command(ANN, "/addset"))
    await harness.feed(command(ANN, "/addset no such thing!"))
    await harness.feed(command(ANN, "/addset missing"))
    await harness.settle()
    assert replies(harness) == [
        texts.ADDSET_USAGE,
        texts.ADDSET_BAD_NAME,
        texts.ADDSET_QUEUED.format(name="missing"),
        texts.ADDSET_UNKNOWN.format(name="missing"),
    ]


async def test_stats_only_for_owners(harness: Harness) -> None:
    await harness.feed(command(BOB, "/stats"))
    assert replies(harness) == []
    await harness.feed(command(ANN, "/stats"))
    [text] = replies(harness)
    assert "stickers: 3" in text and "ingestion queue: 0" in text


async def test_engine_errors_become_one_line_replies(harness: Harness) -> None:
    harness.engine.fail_with = StoreTooNew("Upgrade Stickerbot to open this data folder.")
    await harness.feed(command(ANN, "/prefs"))
    assert replies(harness) == ["Upgrade Stickerbot to open this data folder."]


async def test_unexpected_errors_apologise_in_private_only(harness: Harness) -> None:
    harness.engine.fail_with = RuntimeError("boom")
    await harness.feed(message(ANN, GROUP, sticker=sticker("u001")))
    assert replies(harness) == []
    await harness.feed(command(ANN, "/prefs"))
    assert replies(harness) == [texts.SORRY]
