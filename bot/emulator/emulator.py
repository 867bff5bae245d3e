"""BotApiEmulator: a local Telegram Bot API server with a control side for playing users."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from .control import UserActions
from .control_http import ControlRoutes
from .errors import EmulatorError
from .observe import Observer
from .server import MAX_UPLOAD_BYTES, BotApiRoutes
from .state import EmulatorState

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123:TEST"


class BotApiEmulator(UserActions, Observer):
    """Start it, point the bot's base_url at it, then act as users through its methods."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, group_privacy: bool = True) -> None:
        self.token = token
        self.state = EmulatorState.for_token(token, group_privacy)
        self._runner: web.AppRunner | None = None
        self._root = ""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on host:port; port 0 picks a free one (see `base_url`)."""
        if self._runner is not None:
            raise EmulatorError("the emulator is already running")
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        BotApiRoutes(self.state, self.token).install(app)
        ControlRoutes(self).install(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]
        self._runner, self._root = runner, f"http://{bound_host}:{bound_port}"
        log.info("Bot API emulator listening on %s", self._root)

    async def stop(self) -> None:
        await self.state.webhook.stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> BotApiEmulator:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Server root, e.g. http://127.0.0.1:8081 (control endpoints live under /control)."""
        if not self._root:
            raise EmulatorError("the emulator is not running")
        return self._root

    @property
    def base_url(self) -> str:
        """For `ApplicationBuilder.base_url`: the token and method are appended to it."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        return self.state.bot.to_json()

    def add_sticker_set(
        self, name: str, title: str, files: Sequence[tuple[Path | str, str]]
    ) -> dict[str, Any]:
        """Register a set from (image path, emoji) pairs; returns the StickerSet JSON."""
        pairs = [(Path(path), emoji) for path, emoji in files]
        return self.state.stickers.add_set(name, title, pairs).to_json()

    def load_packs(self, folder: Path | str) -> list[str]:
        """Each subfolder of `folder` becomes a set; returns the set names loaded."""
        if not Path(folder).is_dir():
            raise EmulatorError(f"not a folder: {folder}")
        return [pack.name for pack in self.state.stickers.load_packs(Path(folder))]

    def inject_error(
        self,
        method: str,
        error_code: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        """Fail the next `times` calls of `method`; a 429 carries retry_after like flood control."""
        self.state.faults.inject(method, error_code, retry_after, times, description, parameters)

    async def reset(self) -> None:
        """Forget chats, updates, queries, faults and the webhook; keep sticker sets and files."""
        await self.state.reset()
