"""Turn any Telegram sticker file (PNG, WEBP, TGS, WEBM) into one representative RGBA image.

Every way a file can be bad ends in `MediaError` with a short, stable `.reason` key, so a
catalog build can skip the file and count why.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, cast, get_args

import av
from av.container import InputContainer
from av.video.codeccontext import VideoCodecContext
from av.video.stream import VideoStream
from PIL import Image
from rlottie_python import LottieAnimation

from engine.errors import StickerbotError

log = logging.getLogger(__name__)

StickerFormat = Literal["png", "webp", "tgs", "webm"]
MediaReason = Literal[
    "missing",
    "unreadable",
    "empty",
    "too_large",
    "unsupported_format",
    "corrupt_image",
    "corrupt_tgs",
    "corrupt_webm",
]

# Telegram's Bot API getFile refuses files above 20 MB, so a bigger "sticker" is not one.
MAX_FILE_BYTES = 20 * 1024 * 1024
# Telegram caps TGS at 64 KB; allow 16x headroom for hand-made sets, still tiny.
MAX_TGS_BYTES = 1024 * 1024
# Lottie JSON compresses roughly 5-15x; 8 MB decompressed bounds a gzip bomb well above real use.
MAX_TGS_JSON_BYTES = 8 * 1024 * 1024
# Stickers are 512 px; 4096^2 is far above that and far below Pillow's own bomb limit (~89 Mpx).
MAX_DECODED_PIXELS = 4096 * 4096
# Video stickers are at most 3 s; 10 s of 60 fps bounds decoding time on a broken timeline.
MAX_WEBM_FRAMES = 600
# Bytes read to identify a format; the longest signature (RIFF....WEBP) needs 12.
SNIFF_BYTES = 16
# A frame with fewer visible pixels than this is treated as blank and another frame is tried.
MIN_VISIBLE_PIXELS = 16
# Lottie frames to try, as positions in the animation: the middle shows the motion best.
TGS_FRAME_POSITIONS = (0.5, 0.25, 0.75, 0.0)
# Native VP8/VP9 decoders drop the alpha plane; the libvpx wrappers read it from BlockAdditional.
ALPHA_DECODERS = {"vp9": "libvpx-vp9", "vp8": "libvpx"}

# Backdrop for transparent pixels: how most people see stickers (light chat themes).
WHITE = (255, 255, 255)

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_GZIP_MAGIC = b"\x1f\x8b"
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # Matroska/WebM container header


class MediaError(StickerbotError):
    """A sticker file cannot be turned into an image; `.reason` is a stable key for counting."""

    def __init__(self, reason: MediaReason, detail: str = "") -> None:
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"sticker file skipped: {reason}{suffix}")
        self.reason: MediaReason = reason
        self.detail = detail


REASONS: tuple[MediaReason, ...] = get_args(MediaReason)


def sniff_format(path: Path) -> StickerFormat:
    """Identify a sticker file by its first bytes; the extension is ignored as untrustworthy."""
    head = _read_head(Path(path))
    if head.startswith(_PNG_MAGIC):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(_GZIP_MAGIC):
        return "tgs"
    if head.startswith(_EBML_MAGIC):
        return "webm"
    raise MediaError("unsupported_format", f"unknown signature {head[:4].hex()}")


def load_sticker_image(path: Path, size: int = 256) -> Image.Image:
    """Decode one representative RGBA frame whose longest side is at most `size` pixels."""
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    path = Path(path)
    fmt = sniff_format(path)
    image = _DECODERS[fmt](path, size)
    return _fit(image, size)


def _read_head(path: Path) -> bytes:
    """Check existence and size caps, then return the first bytes of the file."""
    try:
        length = path.stat().st_size
        if not path.is_file():
            raise MediaError("missing", "not a regular file")
        if length == 0:
            raise MediaError("empty")
        if length > MAX_FILE_BYTES:
            raise MediaError("too_large", f"{length} bytes")
        with path.open("rb") as handle:
            return handle.read(SNIFF_BYTES)
    except FileNotFoundError as exc:
        raise MediaError("missing") from exc
    except OSError as exc:
        raise MediaError("unreadable", type(exc).__name__) from exc


def flatten(image: Image.Image, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Composite onto an opaque colour: models want RGB; transparent pixels hold junk colours."""
    rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    canvas = Image.new("RGBA", rgba.size, (*background, 255))
    canvas.alpha_composite(rgba)
    return canvas.convert("RGB")


def _fit(image: Image.Image, size: int) -> Image.Image:
    """Shrink (never enlarge) so the longest side is at most `size`, keeping the aspect ratio."""
    image = image if image.mode == "RGBA" else image.convert("RGBA")
    if max(image.size) > size:
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return image


def _is_blank(image: Image.Image) -> bool:
    """True when almost nothing is visible (fully transparent frames are common at t=0)."""
    histogram = image.getchannel("A").histogram()
    return sum(histogram[1:]) < MIN_VISIBLE_PIXELS


# --- static images -----------------------------------------------------------------------------


def _load_static(path: Path, size: int) -> Image.Image:
    """Decode PNG/WEBP with Pillow; animated ones yield their middle frame."""
    try:
        with Image.open(path, formats=("PNG", "WEBP")) as image:
            if image.width * image.height > MAX_DECODED_PIXELS:
                raise MediaError("too_large", f"{image.width}x{image.height} px")
            image.seek(getattr(image, "n_frames", 1) // 2)
            return image.convert("RGBA")
    except Image.DecompressionBombError as exc:
        raise MediaError("too_large", "decompression bomb") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        # Pillow reports truncated or malformed data through all of these types.
        raise MediaError("corrupt_image", str(exc)[:80]) from exc


# --- TGS (gzipped Lottie) ----------------------------------------------------------------------


def _load_tgs(path: Path, size: int) -> Image.Image:
    """Render a representative frame of a TGS animation with rlottie."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MediaError("unreadable", type(exc).__name__) from exc
    if len(raw) > MAX_TGS_BYTES:
        raise MediaError("too_large", f"TGS of {len(raw)} bytes")
    text = _gunzip_json(raw)
    width, height = _lottie_canvas(text)
    target = _fit_box(width, height, size)
    with LottieAnimation.from_data(text) as animation:
        if not animation.animation_p:
            raise MediaError("corrupt_tgs", "rlottie rejected the animation")
        frames = (animation.lottie_animation_get_frame_at_pos(pos) for pos in TGS_FRAME_POSITIONS)
        return _first_visible(_render_lottie(animation, frame, target) for frame in frames)


def _gunzip_json(raw: bytes) -> str:
    """Inflate at most MAX_TGS_JSON_BYTES, so a gzip bomb stops early instead of filling memory."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            data = stream.read(MAX_TGS_JSON_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise MediaError("corrupt_tgs", f"bad gzip: {exc}"[:80]) from exc
    if len(data) > MAX_TGS_JSON_BYTES:
        raise MediaError("too_large", "TGS inflates past the cap")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MediaError("corrupt_tgs", "not UTF-8 JSON") from exc


def _lottie_canvas(text: str) -> tuple[int, int]:
    """Validate the Lottie essentials in Python, so malformed input never reaches the C renderer."""
    try:
        doc: Any = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MediaError("corrupt_tgs", "invalid JSON") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list):
        raise MediaError("corrupt_tgs", "no Lottie layers")
    width, height = _number(doc, "w"), _number(doc, "h")
    if width < 1 or height < 1:
        raise MediaError("corrupt_tgs", "bad canvas size")
    if _number(doc, "op") <= _number(doc, "ip"):
        raise MediaError("corrupt_tgs", "bad frame range")
    return round(width), round(height)


def _number(doc: dict[str, Any], key: str) -> float:
    """A required numeric Lottie field (booleans are ints in Python, so they are refused)."""
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MediaError("corrupt_tgs", f"Lottie field '{key}' is not a number")
    return float(value)


def _fit_box(width: int, height: int, size: int) -> tuple[int, int]:
    """Scale a canvas so its longest side is `size`: rlottie renders vectors at any size."""
    scale = size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _render_lottie(animation: LottieAnimation, frame: int, box: tuple[int, int]) -> Image.Image:
    """Render one frame; rlottie writes premultiplied BGRA, which Pillow un-premultiplies."""
    buffer = animation.lottie_animation_render(frame_num=frame, width=box[0], height=box[1])
    premultiplied = Image.frombuffer("RGBa", box, buffer, "raw", "BGRa", 0, 1)
    return premultiplied.convert("RGBA")


def _first_visible(images: Iterator[Image.Image]) -> Image.Image:
    """Return the first image with visible content, or the first one if all are blank."""
    first: Image.Image | None = None
    for image in images:
        if not _is_blank(image):
            return image
        first = first or image
    if first is None:
        raise MediaError("corrupt_tgs", "no frames")
    return first


# --- WEBM (VP9 video) --------------------------------------------------------------------------


def _load_webm(path: Path, size: int) -> Image.Image:
    """Decode the middle frame of a video sticker, keeping alpha when libvpx is available."""
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise MediaError("corrupt_webm", "no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > MAX_DECODED_PIXELS:
                raise MediaError("too_large", f"{width}x{height} px video")
            frame = _middle_frame(container, stream, _video_decoder(stream))
            return Image.fromarray(frame.to_ndarray(format="rgba"), "RGBA")
    except MediaError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaError("corrupt_webm", str(exc)[:80]) from exc


def _video_decoder(stream: VideoStream) -> VideoCodecContext:
    """Prefer libvpx (keeps alpha); fall back to the stream's native decoder (opaque frames)."""
    name = ALPHA_DECODERS.get(stream.codec_context.name)
    if name is None:
        return stream.codec_context
    try:
        decoder = cast(VideoCodecContext, av.CodecContext.create(name, "r"))
    except (av.FFmpegError, ValueError) as exc:
        log.debug("decoder %s unavailable (%s); alpha will be lost", name, exc)
        return stream.codec_context
    decoder.width, decoder.height = stream.codec_context.width, stream.codec_context.height
    if stream.codec_context.extradata:
        decoder.extradata = stream.codec_context.extradata
    return decoder


def _middle_frame(
    container: InputContainer, stream: VideoStream, decoder: VideoCodecContext
) -> av.VideoFrame:
    """Decode forward to the frame at half the duration (no seeking: clips are short)."""
    middle = _duration_seconds(container, stream) / 2
    chosen: av.VideoFrame | None = None
    for count, frame in enumerate(_decoded_frames(container, stream, decoder.decode)):
        chosen = frame
        if count + 1 >= MAX_WEBM_FRAMES or _frame_seconds(frame, stream) >= middle:
            break
    if chosen is None:
        raise MediaError("corrupt_webm", "no decodable frame")
    return chosen


def _decoded_frames(
    container: InputContainer,
    stream: VideoStream,
    decode: Callable[[av.Packet], list[av.VideoFrame]],
) -> Iterator[av.VideoFrame]:
    """Yield frames from the stream's packets; the demuxer's last empty packet flushes."""
    for packet in container.demux(stream):
        yield from decode(packet)


def _frame_seconds(frame: av.VideoFrame, stream: VideoStream) -> float:
    """Presentation time from the stream's time base (a standalone decoder may not carry one)."""
    if frame.pts is None or stream.time_base is None:
        return 0.0
    return float(frame.pts * stream.time_base)


def _duration_seconds(container: InputContainer, stream: VideoStream) -> float:
    """Stream duration if known, else container duration, else 0 (then the first frame is used)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


_DECODERS: dict[StickerFormat, Callable[[Path, int], Image.Image]] = {
    "png": _load_static,
    "webp": _load_static,
    "tgs": _load_tgs,
    "webm": _load_webm,
}
