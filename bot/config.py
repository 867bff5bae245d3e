"""Settings: one validated model, loaded once at start-up from bot.toml plus the environment.

The token, the webhook secret and the database URL (which holds a password) come only from the
environment, so the file can be shared or committed without leaking them.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from engine.config import EngineConfig

ENV_PREFIX = "STICKERBOT_"
DEFAULT_API_URL = "https://api.telegram.org/bot"
API_PATH_SUFFIX = "/bot"  # Bot API servers put methods under /bot<token> ...
FILE_PATH_SUFFIX = "/file/bot"  # ... and files under /file/bot<token>
SECRET_KEYS = ("token", "webhook_secret", "database_url")  # environment only, never in the file


class ConfigError(Exception):
    """The configuration is invalid; `lines` are `field: message` strings for the operator."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class BotSection(BaseModel):
    """The `[bot]` table: how the bot talks to Telegram and how much it remembers."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = Field(default=None, description="public HTTPS URL Telegram posts to")
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    owner_ids: list[int] = Field(default_factory=list, description="Telegram user ids for /stats")
    cache_time: int = Field(default=5, ge=0, le=3600, description="seconds Telegram caches a page")
    ingest_workers: int = Field(default=2, ge=1, le=16)
    context_messages: int = Field(default=5, ge=1, le=50, description="messages kept per user")
    context_ttl_seconds: float = Field(default=900.0, gt=0, description="context expiry")
    context_users: int = Field(default=10_000, ge=1, description="users whose context is kept")

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> Self:
        if self.mode == "webhook" and not self.webhook_url:
            raise ValueError("webhook mode needs webhook_url")
        return self


class Settings(BaseSettings):
    """Everything the bot needs to run; the environment overrides the file."""

    model_config = SettingsConfigDict(extra="forbid", env_prefix=ENV_PREFIX)

    token: SecretStr = Field(min_length=1, description="from STICKERBOT_TOKEN only")
    webhook_secret: SecretStr | None = Field(
        default=None, description="from STICKERBOT_WEBHOOK_SECRET only"
    )
    api_url: str = Field(default=DEFAULT_API_URL, description="STICKERBOT_API_URL")
    data: Path = Field(default=Path("var/data"), description="data folder; STICKERBOT_DATA")
    database_url: SecretStr | None = Field(
        default=None, description="PostgreSQL for shared state; from STICKERBOT_DATABASE_URL only"
    )
    bot: BotSection = Field(default_factory=BotSection)
    engine: EngineConfig = Field(default_factory=EngineConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment first, so STICKERBOT_* overrides what the file says.
        return (env_settings, init_settings)

    @property
    def base_url(self) -> str:
        return self.api_url.rstrip("/")

    @property
    def base_file_url(self) -> str:
        """The file download URL that matches `api_url` (local Bot API servers included)."""
        url = self.base_url
        if url.endswith(API_PATH_SUFFIX):
            return url[: -len(API_PATH_SUFFIX)] + FILE_PATH_SUFFIX
        return url + FILE_PATH_SUFFIX


def load_settings(path: Path | None) -> Settings:
    """Read `path` (optional) and the environment; raise ConfigError with `field: message` lines."""
    raw = _read_toml(path) if path is not None else {}
    _refuse_secrets(raw)
    try:
        return Settings(**raw)
    except ValidationError as error:
        raise ConfigError(_error_lines(error)) from None


class OfflineSettings(BaseModel):
    """What the offline commands (build, export index) read of bot.toml: the engine settings
    and the data folder, so they write the index `serve` will open. No token needed."""

    model_config = ConfigDict(extra="ignore")  # the [bot] table is the bot's business

    data: Path = Field(default=Path("var/data"))
    engine: EngineConfig = Field(default_factory=EngineConfig)
    database_url: str | None = None  # from STICKERBOT_DATABASE_URL, as `serve` reads it


def load_offline_settings(path: Path | None) -> OfflineSettings:
    """Read `path` (optional); raise ConfigError with `field: message` lines."""
    raw = _read_toml(path) if path is not None else {}
    _refuse_secrets(raw)
    database_url = os.environ.get(f"{ENV_PREFIX}DATABASE_URL") or None
    try:
        return OfflineSettings(**raw, database_url=database_url)
    except ValidationError as error:
        raise ConfigError(_error_lines(error)) from None


def _refuse_secrets(raw: dict[str, Any]) -> None:
    secrets = [
        f"{key}: set {ENV_PREFIX}{key.upper()} in the environment, not in the file"
        for key in SECRET_KEYS
        if key in raw
    ]
    if secrets:
        raise ConfigError(secrets)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{path}: {error}"]) from None


def _error_lines(error: ValidationError) -> list[str]:
    # Only location and message: the offending input may be a secret.
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "settings"
        if field == "token" and item["type"] == "missing":
            lines.append(f"token: set {ENV_PREFIX}TOKEN in the environment")
        else:
            lines.append(f"{field}: {item['msg']}")
    return lines
