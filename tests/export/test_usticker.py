"""U-Sticker import on a small fixture: two conversations (JSON list and JSON lines), 3 users."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from engine.catalog import read_history, read_queries
from export.usticker import (
    SYNTHETIC_START_TS,
    UStickerError,
    app,
    guess_language,
    import_usticker,
    read_domains,
)


def msg(
    message_id: int,
    from_id: int,
    *,
    sticker: str | None = None,
    text: str | None = None,
    reply_id: int | None = None,
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "from_id": from_id,
        "reply_id": reply_id,
        "sticker": sticker,
        "text": text,
    }


# Conversation 0, stored as one JSON list; its domain names no language, its text is Chinese.
CONVERSATION_0 = [
    msg(1, 102, text="你好"),
    msg(2, 102, sticker="s5"),
    msg(3, 103, sticker="s6", reply_id=1),
    msg(4, 101, sticker="s1", reply_id=1),
]
# Conversation 1, stored as JSON lines.
CONVERSATION_1 = [
    msg(1, 101, text="hi all"),
    msg(2, 102, sticker="s1", reply_id=1),
    msg(3, 103, text="how are you"),
    msg(4, 101, sticker="s2", reply_id=99),  # 99 is not in the data: falls back to message 3
    msg(5, 102, sticker="s3"),
    msg(6, 103, text="good night"),
    msg(7, 102, sticker="s1", reply_id=2),  # answers a sticker: falls back to the last text
    msg(8, 101),  # neither sticker nor text (a photo, a service message): skipped
    msg(9, 102, sticker="s4", reply_id=3),
    msg(10, 101, sticker="files/s7.png", reply_id=6),
    msg(11, 101, sticker="s2"),
]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    src = tmp_path / "u-sticker"
    (src / "media").mkdir(parents=True)
    (src / "files").mkdir()
    (src / "idx_to_domain.txt").write_text("0\tGaming\n1\tEnglish memes\n", encoding="utf-8")
    (src / "conv_0.json").write_text(
        json.dumps(CONVERSATION_0, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    (src / "conv_1.jsonl").write_text(
        "".join(json.dumps(m) + "\n" for m in CONVERSATION_1), encoding="utf-8"
    )
    Image.new("RGBA", (8, 8), (255, 0, 0, 255)).save(src / "media" / "s1.png")
    Image.new("RGBA", (8, 8), (0, 255, 0, 255)).save(src / "files" / "s7.png")
    return src


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_import_writes_benchmark_folder(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    report = import_usticker(source, out)

    assert (report.conversations, report.messages, report.sticker_sends) == (2, 15, 10)
    assert (report.stickers, report.users, report.history_events, report.queries) == (7, 3, 8, 2)
    assert (report.missing_reply_targets, report.empty_messages) == (1, 1)
    assert report.stickers_without_file == 5
    assert {p.name for p in out.iterdir()} >= {
        "catalog.jsonl",
        "history.jsonl",
        "queries.jsonl",
        "README.md",
        "stickers",
    }


def test_catalog_has_every_sticker_with_domain_set_and_copied_files(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bench"
    import_usticker(source, out)
    catalog = {row["sticker_id"]: row for row in rows(out / "catalog.jsonl")}

    assert list(catalog) == ["s5", "s6", "s1", "s2", "s3", "s4", "files/s7.png"]
    assert catalog["s5"]["set"] == "Gaming"
    assert catalog["s1"]["set"] == "Gaming"  # the first conversation it appeared in
    assert catalog["s2"]["set"] == "English memes"
    assert catalog["s1"]["file"] == "stickers/s1.png"
    assert (out / catalog["s1"]["file"]).read_bytes() == (source / "media/s1.png").read_bytes()
    seven = catalog["files/s7.png"]["file"]
    assert seven.startswith("stickers/files_s7.png-") and (out / seven).is_file()
    assert catalog["s3"]["file"] is None
    assert set(catalog["s3"]) == {"sticker_id", "set", "file", "emoji", "caption", "ocr"}


def test_history_contexts_and_clock(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    import_usticker(source, out)
    history = rows(out / "history.jsonl")

    stamps = [row["ts"] for row in history]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert stamps[0] > SYNTHETIC_START_TS
    assert all(row["event"] == "send" and row["query"] is None for row in history)
    sends = [(row["user_id"], row["sticker_id"], row["context"]) for row in history]
    assert sends == [
        ("102", "s5", "你好"),
        ("103", "s6", "你好"),
        ("101", "s1", "你好"),
        ("102", "s1", "hi all"),
        ("101", "s2", "how are you"),  # reply target missing: previous text
        ("102", "s3", "how are you"),  # no reply: previous text
        ("102", "s1", "good night"),  # replied to a sticker: previous text
        ("101", "files/s7.png", "good night"),
    ]


def test_last_send_of_users_with_history_becomes_query(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    import_usticker(source, out)
    queries = rows(out / "queries.jsonl")

    assert queries == [
        {
            "qid": "q000000",
            "user_id": "102",
            "ts": queries[0]["ts"],
            "lang": "en",
            "text": "how are you",
            "relevant": {"s4": 2},
        },
        {
            "qid": "q000001",
            "user_id": "101",
            "ts": queries[1]["ts"],
            "lang": "en",
            "text": "good night",
            "relevant": {"s2": 2},
        },
    ]
    held = {(q["user_id"], q["ts"]) for q in queries}
    history = rows(out / "history.jsonl")
    assert not held & {(row["user_id"], row["ts"]) for row in history}
    # Held-out sends come after everything the user did before them.
    for query in queries:
        assert all(row["ts"] < query["ts"] for row in history if row["user_id"] == query["user_id"])
    # 103 has a single send: never held out.
    assert Counter(row["user_id"] for row in history)["103"] == 1


def test_holdout_two_needs_five_sends(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    report = import_usticker(source, out, holdout=2)
    queries = rows(out / "queries.jsonl")
    assert report.queries == 2 and {q["user_id"] for q in queries} == {"102"}  # 101 has 4 sends


def test_output_reads_back_through_the_engine(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    import_usticker(source, out)
    assert len(list(read_history(out))) == 8
    assert [q.text for q in read_queries(out)] == ["how are you", "good night"]
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "empty string" in readme and "U-Sticker" in readme


def test_malformed_line_names_file_and_line(source: Path, tmp_path: Path) -> None:
    with (source / "conv_1.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"message_id": 12, "from_id": 101, "sticker": "s1"\n')
    with pytest.raises(UStickerError) as caught:
        import_usticker(source, tmp_path / "bench")
    message = str(caught.value)
    assert "\n" not in message
    assert f"{source / 'conv_1.jsonl'}:12: not JSON" in message
    assert not (tmp_path / "bench" / "catalog.jsonl").exists()


def test_bad_field_in_list_names_item(source: Path, tmp_path: Path) -> None:
    broken = [*CONVERSATION_0, {"message_id": 5, "sticker": "s1"}]
    (source / "conv_0.json").write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(UStickerError, match=r"conv_0\.json: item 5: field 'from_id'"):
        import_usticker(source, tmp_path / "bench")


def test_existing_output_needs_overwrite(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    import_usticker(source, out)
    with pytest.raises(UStickerError, match="already holds a dataset"):
        import_usticker(source, out)
    assert import_usticker(source, out, overwrite=True).queries == 2


def test_command_line(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    result = CliRunner().invoke(app, ["u-sticker", str(source), str(out)])
    assert result.exit_code == 0, result.output
    assert "2 queries" in result.output
    assert (out / "queries.jsonl").is_file()


def test_domain_file_formats(tmp_path: Path) -> None:
    (tmp_path / "idx_to_domain.txt").write_text("3: Crypto\n4,Anime fans\n\n", encoding="utf-8")
    assert read_domains(tmp_path) == {3: "Crypto", 4: "Anime fans"}
    (tmp_path / "idx_to_domain.txt").write_text("Crypto\nAnime fans\n", encoding="utf-8")
    assert read_domains(tmp_path) == {0: "Crypto", 1: "Anime fans"}


@pytest.mark.parametrize(
    ("domain", "scripts", "lang"),
    [
        ("Russian chat", Counter({"und": 50}), "ru"),
        ("Gaming", Counter({"zh": 40, "und": 5}), "zh"),
        ("Anime", Counter({"zh": 30, "ja": 20}), "ja"),
        ("Korea", Counter({"ko": 30}), "ko"),
        ("Crypto", Counter({"und": 90, "zh": 2}), "und"),
        (None, Counter(), "und"),
    ],
)
def test_guess_language(domain: str | None, scripts: Counter[str], lang: str) -> None:
    assert guess_language(domain, scripts) == lang
