"""Webhook mode: POST each pending update to the bot, in order, retrying until it is accepted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from .models import compact, now
from .updates import UpdateQueue

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DELIVERY_TIMEOUT = 10.0  # seconds a bot gets to answer one webhook request
FIRST_RETRY_DELAY = 0.2  # short so tests recover fast; Telegram backs off similarly, only slower
MAX_RETRY_DELAY = 5.0
DEFAULT_MAX_CONNECTIONS = 40  # Telegram's documented default


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    allowed_updates: list[str] | None = None
    ip_address: str | None = None


@dataclass
class WebhookStatus:
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0
    failures: int = 0


class WebhookDeliverer:
    """One background task per configured webhook; one update in flight keeps the order."""

    def __init__(self, queue: UpdateQueue, retry_delay: float = FIRST_RETRY_DELAY) -> None:
        self._queue = queue
        self._retry_delay = retry_delay
        self.config: WebhookConfig | None = None
        self.status = WebhookStatus()
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self.config is not None

    async def start(self, config: WebhookConfig) -> None:
        await self.stop()
        self.config = config
        self.status = WebhookStatus()
        self._task = asyncio.create_task(self._run(config), name="emulator-webhook")

    async def stop(self) -> None:
        self.config = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def info(self) -> dict[str, Any]:
        """The WebhookInfo object; url is empty when polling."""
        config = self.config
        return compact(
            {
                "url": config.url if config else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._queue),
                "ip_address": config.ip_address if config else None,
                "last_error_date": self.status.last_error_date,
                "last_error_message": self.status.last_error_message,
                "max_connections": config.max_connections if config else None,
                "allowed_updates": config.allowed_updates if config else None,
            }
        )

    async def _run(self, config: WebhookConfig) -> None:
        headers = {SECRET_HEADER: config.secret_token} if config.secret_token else {}
        timeout = aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
            delay = self._retry_delay
            while True:
                pending = self._queue.peek(1)
                if not pending:
                    await self._queue.changed.wait(MAX_RETRY_DELAY)
                    continue
                if await self._deliver(session, config.url, pending[0]):
                    delay = self._retry_delay
                else:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_RETRY_DELAY)

    async def _deliver(
        self, session: aiohttp.ClientSession, url: str, update: dict[str, Any]
    ) -> bool:
        try:
            async with session.post(url, json=update) as response:
                if 200 <= response.status < 300:
                    self.status.delivered += 1
                    self._queue.confirm(update["update_id"] + 1)
                    self._queue.changed.notify()  # control-side waits watch delivery too
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = _connection_error(exc)
        self.status.last_error_date = now()
        self.status.last_error_message = error
        self.status.failures += 1
        self._queue.changed.notify()
        log.info("webhook delivery of update %s failed: %s", update["update_id"], error)
        return False


def _connection_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "Read timeout expired"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "Connection refused"
    return f"Connection failed: {exc.__class__.__name__}"
