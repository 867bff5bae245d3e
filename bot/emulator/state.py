"""Everything the emulator remembers, in one object shared by the Bot API and control sides."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .changes import ChangeSignal
from .chats import ChatStore
from .faults import FaultInjector
from .files import FileStore
from .models import User
from .queries import QueryBook
from .stickers import StickerRegistry
from .updates import UpdateQueue
from .webhook import WebhookDeliverer

BOT_USERNAME = "stickerbot_test_bot"
BOT_FIRST_NAME = "Stickerbot Test"
CALL_LOG_SIZE = 1000  # enough for a test's assertions, bounded for long load runs


@dataclass
class CallRecord:
    method: str
    ok: bool
    error_code: int | None = None


@dataclass
class EmulatorState:
    bot: User
    group_privacy: bool = True  # BotFather's default: groups show the bot commands and replies only
    files: FileStore = field(default_factory=FileStore)
    chats: ChatStore = field(default_factory=ChatStore)
    queries: QueryBook = field(default_factory=QueryBook)
    faults: FaultInjector = field(default_factory=FaultInjector)
    users: dict[int, User] = field(default_factory=dict)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    inline_messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: deque[CallRecord] = field(default_factory=lambda: deque(maxlen=CALL_LOG_SIZE))
    changed: ChangeSignal = field(default_factory=ChangeSignal)
    updates: UpdateQueue = field(init=False)
    stickers: StickerRegistry = field(init=False)
    webhook: WebhookDeliverer = field(init=False)

    def __post_init__(self) -> None:
        # One signal for all changes: every wait re-checks its own condition when woken.
        self.updates = UpdateQueue(self.changed)
        self.stickers = StickerRegistry(self.files)
        self.webhook = WebhookDeliverer(self.updates)

    @classmethod
    def for_token(cls, token: str, group_privacy: bool = True) -> EmulatorState:
        """The bot's user id is the number before the colon, as in real tokens."""
        prefix = token.split(":", 1)[0]
        bot_id = int(prefix) if prefix.isdigit() else 1
        bot = User(id=bot_id, first_name=BOT_FIRST_NAME, is_bot=True, username=BOT_USERNAME)
        return cls(bot=bot, group_privacy=group_privacy)

    async def reset(self) -> None:
        """Forget conversations, queries, faults and the webhook; keep sticker sets and files."""
        await self.webhook.stop()
        self.chats.clear()
        self.updates.reset()
        self.queries.clear()
        self.faults.clear()
        self.users.clear()
        self.commands.clear()
        self.inline_messages.clear()
        self.calls.clear()
        self.changed.notify()
