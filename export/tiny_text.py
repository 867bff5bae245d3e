"""A tiny random-weight sentence-transformers model (BERT, mean pooling, Dense, Normalize).

For testing `export_sentence_transformer` offline: the weights are random, so it proves the
plumbing (tokenizer, pooling, Dense, normalisation), not the quality of any embedding.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

SEED = 4321
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
WORDS = (
    "a",
    "photo",
    "of",
    "cat",
    "dog",
    "face",
    "with",
    "tears",
    "joy",
    "love",
    "ok",
    "very",
    "long",
    "caption",
    "happy",
    "sad",
    "##s",
    "##ing",
    "ça",
    "va",
    "café",
    "любовь",
    "笑",
)
HIDDEN = 32
INTERMEDIATE = 64
LAYERS = 2
HEADS = 2
MAX_LENGTH = 64
DENSE_OUT = 16


def _write_vocab(folder: Path) -> Path:
    # Single characters as a fallback so most inputs tokenise to more than [UNK].
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1) if chr(c) not in WORDS]
    path = folder / "vocab.txt"
    path.write_text("\n".join([*SPECIAL_TOKENS, *WORDS, *letters]) + "\n", encoding="utf-8")
    return path


def build_tiny_sentence_transformer(out_dir: Path, seed: int = SEED) -> Path:
    """Save a seeded random sentence-transformers model to `out_dir`; return it."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    with warnings.catch_warnings():
        # Deprecated in sentence-transformers 5 but the one path that also works in 3 and 4.
        warnings.simplefilter("ignore", DeprecationWarning)
        from sentence_transformers import models  # type: ignore[attr-defined]

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        tokenizer = BertTokenizerFast(
            vocab_file=str(_write_vocab(base)), model_max_length=MAX_LENGTH
        )
        config = BertConfig(
            vocab_size=tokenizer.vocab_size,
            hidden_size=HIDDEN,
            intermediate_size=INTERMEDIATE,
            num_hidden_layers=LAYERS,
            num_attention_heads=HEADS,
            max_position_embeddings=MAX_LENGTH,
        )
        BertModel(config).save_pretrained(str(base / "bert"))
        tokenizer.save_pretrained(str(base / "bert"))
        transformer = models.Transformer(str(base / "bert"), max_seq_length=MAX_LENGTH)
        pooling = models.Pooling(HIDDEN)
        dense = models.Dense(HIDDEN, DENSE_OUT, activation_function=torch.nn.Tanh())
        model = SentenceTransformer(
            modules=[transformer, pooling, dense, models.Normalize()], device="cpu"
        )
        model.save(str(out_dir))
    return out_dir
