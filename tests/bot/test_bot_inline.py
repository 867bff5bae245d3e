"""Inline mode through a real Application: pages of stickers, safe mode, context, picks."""

from __future__ import annotations

from typing import Any

from engine.errors import BadQuery
from engine.types import Prefs
from tests.bot.harness import Harness, records
from tests.bot.updates import ANN, BOB, GROUP, chosen, inline_query, message


def answer(harness: Harness) -> dict[str, Any]:
    answers = harness.api.called("answerInlineQuery")
    assert answers, "no inline answer"
    return answers[-1]


async def test_answer_is_a_personal_page_of_cached_stickers(harness: Harness) -> None:
    await harness.feed(inline_query(ANN, "hello"))
    sent = answer(harness)
    assert [r["sticker_file_id"] for r in sent["results"]] == [
        "file-u000",
        "file-u001",
        "file-u002",
    ]
    assert {r["type"] for r in sent["results"]} == {"sticker"}
    assert sent["is_personal"] is True
    assert sent["cache_time"] == 5
    assert sent["next_offset"] == ""
    assert sent["button"]["start_parameter"] == "prefs"
    assert harness.engine.suggest_calls[-1]["safe"] is None


async def test_the_users_app_language_reaches_the_engine_as_a_hint(harness: Harness) -> None:
    await harness.feed(inline_query(ANN, "pain"))
    assert harness.engine.suggest_calls[-1]["language"] == "en"  # Ann's Telegram language code
    await harness.feed(inline_query(BOB, "pain"))  # Telegram may not say
    assert harness.engine.suggest_calls[-1]["language"] is None


async def test_pages_walk_the_whole_catalog_without_repeats(harness: Harness) -> None:
    harness.engine.catalog = {r.sticker_id: r for r in records(120)}
    seen: list[str] = []
    offset = ""
    for _ in range(5):
        await harness.feed(inline_query(ANN, "cat", offset=offset))
        sent = answer(harness)
        assert len(sent["results"]) <= 50
        seen += [r["id"] for r in sent["results"]]
        offset = sent["next_offset"]
        if not offset:
            break
    assert len(seen) == len(set(seen)) == 120


async def test_group_queries_force_safe_mode(harness: Harness) -> None:
    await harness.feed(inline_query(ANN, "hi", chat_type="supergroup"))
    assert harness.engine.suggest_calls[-1]["safe"] is True


async def test_too_long_or_bad_query_answers_nothing(harness: Harness) -> None:
    await harness.feed(inline_query(ANN, "x" * 300))
    assert answer(harness)["results"] == []

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise BadQuery("no")

    harness.engine.suggest = refuse  # type: ignore[method-assign]
    await harness.feed(inline_query(ANN, "fine"))
    assert answer(harness)["results"] == []


async def test_empty_query_passes_the_conversation(harness: Harness) -> None:
    await harness.feed(message(ANN, GROUP, text="anyone up for pizza?"))
    await harness.feed(inline_query(ANN, ""))
    assert harness.engine.suggest_calls[-1]["context"] == ["anyone up for pizza?"]


async def test_chosen_result_is_recorded_as_a_pick(harness: Harness) -> None:
    await harness.feed(chosen(ANN, "u001", "hello"))
    [(user, event)] = harness.engine.events
    assert (user, event.kind, event.sticker_id, event.query) == ("1", "pick", "u001", "hello")


async def test_paused_learning_records_nothing(harness: Harness) -> None:
    harness.engine.prefs["1"] = Prefs(learning_paused=True)
    await harness.feed(chosen(ANN, "u001", "hello"))
    assert harness.engine.events == []
