"""`python -m bot.emulator`: run the emulator as a standalone server until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path

from .emulator import DEFAULT_TOKEN, BotApiEmulator

log = logging.getLogger("bot.emulator")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--packs", type=Path, help="folder whose subfolders are sticker sets")
    parser.add_argument(
        "--no-group-privacy", action="store_true", help="deliver every group message to the bot"
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    emulator = BotApiEmulator(args.token, group_privacy=not args.no_group_privacy)
    if args.packs:
        log.info("loaded sticker sets: %s", ", ".join(emulator.load_packs(args.packs)) or "none")
    await emulator.start(args.host, args.port)
    log.info("base_url=%s base_file_url=%s", emulator.base_url, emulator.base_file_url)
    try:
        await asyncio.Event().wait()  # serve until cancelled by Ctrl-C
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
