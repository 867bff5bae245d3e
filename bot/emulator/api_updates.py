"""getUpdates and the webhook methods: the two mutually exclusive ways updates leave."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from .api_types import Described, Handler
from .errors import ApiError, bad_request
from .params import Params
from .state import EmulatorState
from .updates import MAX_LIMIT
from .webhook import DEFAULT_MAX_CONNECTIONS, WebhookConfig

WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
TERMINATED = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
MAX_POLL_TIMEOUT = 50  # seconds; longer waits only tie up connections in a local emulator


async def get_updates(state: EmulatorState, params: Params) -> list[dict[str, Any]]:
    if state.webhook.active:
        raise ApiError(409, WEBHOOK_ACTIVE)
    queue = state.updates
    queue.set_allowed(params.json_value("allowed_updates"))
    offset = params.integer("offset")
    if offset:
        queue.confirm(offset)
    ticket = queue.begin_poll()
    timeout = min(max(params.integer("timeout", 0) or 0, 0), MAX_POLL_TIMEOUT)
    if not len(queue) and timeout:
        await queue.changed.wait_for(
            lambda: True if len(queue) or not queue.is_poller(ticket) else None, timeout
        )
    if not queue.is_poller(ticket):
        raise ApiError(409, TERMINATED)
    if state.webhook.active:
        raise ApiError(409, WEBHOOK_ACTIVE)
    return queue.peek(params.integer("limit", MAX_LIMIT) or MAX_LIMIT)


async def set_webhook(state: EmulatorState, params: Params) -> Described:
    url = params.text("url") or ""
    if not url:
        return await delete_webhook(state, params)
    if urlsplit(url).scheme not in ("http", "https"):
        # Telegram insists on HTTPS; a local emulator accepts plain HTTP too.
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.text("secret_token")
    if secret is not None and not SECRET_TOKEN.match(secret):
        raise bad_request("secret token contains unallowed characters")
    allowed = params.json_value("allowed_updates")
    config = WebhookConfig(
        url=url,
        secret_token=secret,
        max_connections=params.integer("max_connections", DEFAULT_MAX_CONNECTIONS)
        or DEFAULT_MAX_CONNECTIONS,
        allowed_updates=allowed,
        ip_address=params.text("ip_address"),
    )
    if params.boolean("drop_pending_updates"):
        state.updates.clear()
    state.updates.set_allowed(allowed)
    unchanged = state.webhook.config == config
    await state.webhook.start(config)
    return Described(True, "Webhook is already set" if unchanged else "Webhook was set")


async def delete_webhook(state: EmulatorState, params: Params) -> Described:
    was_active = state.webhook.active
    await state.webhook.stop()
    if params.boolean("drop_pending_updates"):
        state.updates.clear()
    return Described(True, "Webhook was deleted" if was_active else "Webhook is already deleted")


async def get_webhook_info(state: EmulatorState, params: Params) -> dict[str, Any]:
    return state.webhook.info()


METHODS: dict[str, Handler] = {
    "getupdates": get_updates,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
}
