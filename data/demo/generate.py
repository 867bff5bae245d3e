"""Regenerate the bundled demo pack from the emoji-dev benchmark set (run once; output committed).

    python data/demo/generate.py /path/to/bench/emoji-dev

Picks a fixed list of concepts in three art styles, copies their 64 px images, adds each
concept's emoji from the bundled CLDR table, and simulates a few users who each keep to one
style, plus judged queries so `stickerbot bench data/demo` works as a smoke test.
Deterministic: the same source gives the same files.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEYWORDS = HERE.parent / "emoji" / "keywords.jsonl.gz"
SEED = 7
START_TS = 1_700_000_000
EVENTS_PER_USER = 30
QUERIES_PER_USER = 6
OWN_STYLE_SHARE = 0.85  # how often a user sends from their own style
TOPIC_SHARE = 0.7  # how often a send is about one of the user's favourite topics
PICK_SHARE = 0.3  # share of events that are inline picks with a typed keyword
MAX_CONCEPTS_PER_KEYWORD = 3  # vaguer keywords ("face") make poor test queries
SECONDS_BETWEEN_EVENTS = 3_600

# emoji-dev keeps each art style in a family of packs; these prefixes identify the families.
STYLES = {
    "noto": (
        "Noto Emoji (demo)",
        (
            "pack_021da5",
            "pack_043e03",
            "pack_053419",
            "pack_19823f",
            "pack_21aec0",
            "pack_26cbd8",
            "pack_3b6e81",
            "pack_52fddf",
        ),
    ),
    "openmoji": (
        "OpenMoji (demo)",
        (
            "pack_2646c3",
            "pack_2a0acb",
            "pack_419aa4",
            "pack_54eb93",
            "pack_5ffabd",
            "pack_67c436",
            "pack_825920",
            "pack_8e2e3a",
        ),
    ),
    "twemoji": (
        "Twemoji (demo)",
        (
            "pack_2f1935",
            "pack_8d3434",
            "pack_933d2c",
            "pack_a157a3",
            "pack_c4bb1a",
            "pack_cf01bd",
            "pack_dbdecd",
            "pack_f24b89",
        ),
    ),
}

TOPICS = {
    "faces": [
        "grinning squinting face",
        "loudly crying face",
        "angry face",
        "sleepy face",
        "sleeping face",
        "smiling face with sunglasses",
        "face blowing a kiss",
        "star-struck",
        "exploding head",
        "face with rolling eyes",
        "melting face",
        "nerd face",
    ],
    "gestures": [
        "waving hand",
        "thumbs down",
        "victory hand",
        "person shrugging",
        "man facepalming",
    ],
    "hearts": ["pink heart", "revolving hearts", "mending heart", "yellow heart"],
    "animals": [
        "dog face",
        "grinning cat",
        "cat with tears of joy",
        "crying cat",
        "fox",
        "panda",
        "penguin",
        "unicorn",
    ],
    "food": ["pizza", "birthday cake", "hot beverage", "popcorn", "hamburger", "watermelon"],
    "party": ["balloon", "trophy", "fire", "rocket", "ghost"],
}

# user id: (style or None for a user without history, language, favourite topics)
USERS = {
    "alice": ("noto", "en", ("animals", "food")),
    "bruno": ("twemoji", "en", ("animals", "faces")),
    "chloe": ("openmoji", "fr", ("hearts", "party")),
    "diego": ("noto", "es", ("faces", "gestures")),
    "emma": ("openmoji", "it", ("food", "animals")),
    "finn": (None, "en", ()),
}


def slug(caption: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in caption.lower()).strip("-")


def load_table() -> dict[str, dict[str, list[str]]]:
    with gzip.open(KEYWORDS, "rt", encoding="utf-8") as file:
        next(file)  # the header
        return {entry["emoji"]: entry["words"] for entry in map(json.loads, file)}


def concept_emoji(table: dict[str, dict[str, list[str]]]) -> dict[str, str]:
    """Caption -> emoji: a caption is the emoji's CLDR English name, the first English word."""
    by_name = {words["en"][0]: emoji for emoji, words in table.items() if words.get("en")}
    concepts = [c for names in TOPICS.values() for c in names]
    missing = [c for c in concepts if c not in by_name]
    if missing:
        sys.exit(f"no emoji for: {missing}")
    return {c: by_name[c] for c in concepts}


def copy_catalog(source: Path, emoji: dict[str, str]) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in (source / "catalog.jsonl").open(encoding="utf-8")]
    catalog = []
    for style, (title, packs) in STYLES.items():
        for caption, char in emoji.items():
            row = next(r for r in rows if r["caption"] == caption and r["set"] in packs)
            sticker_id = f"{style}-{slug(caption)}"
            file = f"stickers/demo_{style}/{sticker_id}.png"
            (HERE / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / row["file"], HERE / file)
            catalog.append(
                {
                    "sticker_id": sticker_id,
                    "set": f"demo_{style}",
                    "title": title,
                    "file": file,
                    "emoji": char,
                    "caption": caption,
                    "ocr": None,
                }
            )
    return catalog


def keywords(table: dict, emoji: dict[str, str], lang: str) -> dict[str, set[str]]:
    """Keyword -> concepts carrying it, in one language, without over-shared words."""
    out: dict[str, set[str]] = {}
    for caption, char in emoji.items():
        for word in table[char].get(lang, []):
            out.setdefault(word, set()).add(caption)
    return {w: cs for w, cs in out.items() if len(cs) <= MAX_CONCEPTS_PER_KEYWORD}


def simulate(table: dict, emoji: dict[str, str]) -> tuple[list[dict], list[dict]]:
    rng = random.Random(SEED)
    history: list[dict] = []
    queries: list[dict] = []
    ts = START_TS
    for user, (style, lang, topics) in USERS.items():
        words = keywords(table, emoji, lang)
        favourite = [c for t in topics for c in TOPICS[t]]
        for _ in range(EVENTS_PER_USER if style else 0):
            own = rng.random() < OWN_STYLE_SHARE
            sticker_style = style if own else rng.choice([s for s in STYLES if s != style])
            pool = favourite if rng.random() < TOPIC_SHARE else list(emoji)
            caption = rng.choice(pool)
            query = None
            if rng.random() < PICK_SHARE:
                query = rng.choice([w for w, cs in words.items() if caption in cs] or [None])
            ts += rng.randrange(SECONDS_BETWEEN_EVENTS)
            history.append(
                {
                    "user_id": user,
                    "ts": ts,
                    "event": "pick" if query else "send",
                    "sticker_id": f"{sticker_style}-{slug(caption)}",
                    "query": query,
                    "context": None,
                }
            )
        for word in rng.sample(sorted(words), QUERIES_PER_USER):
            relevant = {
                f"{s}-{slug(c)}": 2 if s == style else 1
                for c in sorted(words[word])
                for s in STYLES
            }
            queries.append(
                {
                    "qid": f"q{len(queries):03d}",
                    "user_id": user,
                    "lang": lang,
                    "text": word,
                    "relevant": relevant,
                }
            )
    history.sort(key=lambda e: e["ts"])
    for query in queries:
        ts += rng.randrange(SECONDS_BETWEEN_EVENTS)
        query["ts"] = ts
    return history, queries


def write_jsonl(name: str, rows: list[dict]) -> None:
    with (HERE / name).open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_emoji_maps(catalog: list[dict[str, object]]) -> None:
    """Each pack folder gets emoji.json (file name -> emoji), which the Bot API emulator reads
    so the packs it serves carry the same emoji as the catalog."""
    maps: dict[str, dict[str, object]] = {}
    for row in catalog:
        file = Path(str(row["file"]))
        maps.setdefault(file.parent.name, {})[file.name] = row["emoji"]
    for pack, mapping in maps.items():
        text = json.dumps(mapping, ensure_ascii=False, indent=0, sort_keys=True) + "\n"
        (HERE / "stickers" / pack / "emoji.json").write_text(text, encoding="utf-8")


def main() -> None:
    source = Path(sys.argv[1])
    table = load_table()
    emoji = concept_emoji(table)
    shutil.rmtree(HERE / "stickers", ignore_errors=True)
    catalog = copy_catalog(source, emoji)
    write_jsonl("catalog.jsonl", catalog)
    write_emoji_maps(catalog)
    history, queries = simulate(table, emoji)
    write_jsonl("history.jsonl", history)
    write_jsonl(
        "queries.jsonl",
        [{k: q[k] for k in ("qid", "user_id", "ts", "lang", "text", "relevant")} for q in queries],
    )


if __name__ == "__main__":
    main()
