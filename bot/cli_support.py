"""What every `stickerbot` command shares: exit codes, one-line errors, progress bars, and the
--data and --config options with the settings they select."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from tqdm import tqdm

from bot.config import ConfigError, OfflineSettings, load_offline_settings
from engine.bench.report import ReportError
from engine.errors import BadQuery, CatalogError, StickerbotError, UnknownLanguage

log = logging.getLogger(__name__)

EXIT_FAILURE = 1  # something went wrong while running
EXIT_BAD_INPUT = 2  # the user's input or configuration must change (click uses 2 for usage too)
DATA_ENV = "STICKERBOT_DATA"
DEFAULT_CONFIG = Path("bot.toml")
# Errors that mean "change your input": everything else a StickerbotError says is a runtime one.
INPUT_ERRORS: tuple[type[Exception], ...] = (CatalogError, BadQuery, ReportError, UnknownLanguage)

# Markdown, not rich's markup: rich reads "[engine]" or "[default: ...]" in a help text as a
# style tag and drops it.
HELP_MARKUP: Final = "markdown"


def fail(message: str, code: int) -> typer.Exit:
    """Print `message` as one line on stderr (a library's message may hold several); the
    caller raises the returned Exit."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    return typer.Exit(code)


class TelegramErrorsInOneLine(logging.Filter):
    """Takes the traceback off a log record of a Telegram error (out of reach, a token refused):
    the message says what happened, `serve` then says in one line what to do, and a traceback
    would show the token in the library's frames. A handler gets this filter unless --verbose
    asks for everything."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            from telegram.error import TelegramError  # imported once a record carries an error

            if isinstance(error, TelegramError):
                record.exc_info, record.exc_text = None, None
        return True


class SecretsRedacted(logging.Filter):
    """Writes `<secret>` for the bot's token and webhook secret in log records: python-telegram-bot
    and httpx log request URLs, which hold the token, at DEBUG and INFO (what --verbose shows),
    and logs get pasted into bug reports."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            record.msg, record.args = self._redacted(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redacted(record.exc_text)
        return True

    def _redacted(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<secret>")
        return text


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can act on into one line and an exit code."""
    try:
        yield
    except ConfigError as error:
        for line in error.lines:
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except INPUT_ERRORS as error:
        raise fail(str(error), EXIT_BAD_INPUT) from None
    except StickerbotError as error:
        raise fail(str(error), EXIT_FAILURE) from None
    except (FileExistsError, NotADirectoryError) as error:  # a folder to make or read is a file
        where = error.filename or "a path"
        hint = "move it, or give another folder"
        raise fail(f"{where}: a file is in the way of a folder; {hint}", EXIT_BAD_INPUT) from None
    except OSError as error:
        log.debug("OS error", exc_info=True)
        where = f"{error.filename}: " if error.filename else ""
        raise fail(f"{where}{error.strerror or error}", EXIT_FAILURE) from None


class Progress:
    """A progress bar that appears with the first step (so a run that fails early or has
    nothing to do shows none), and only on a terminal."""

    def __init__(self, total: int, description: str) -> None:
        self._total, self._description = total, description
        self._bar: tqdm[Any] | None = None

    def update(self, steps: int) -> None:
        if self._bar is None:
            self._bar = tqdm(
                total=self._total, desc=self._description, unit="sticker", leave=False, disable=None
            )
        self._bar.update(steps)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class StageBars:
    """One tqdm bar (with its ETA) per build stage, opened when the stage reports first."""

    def __init__(self) -> None:
        self._bars: dict[str, tqdm[Any]] = {}

    def update(self, stage: str, steps: int, total: int) -> None:
        bar = self._bars.get(stage)
        if bar is None:
            bar = tqdm(total=total, desc=stage, unit="item", leave=False, disable=None)
            self._bars[stage] = bar
        bar.update(steps)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data", envvar=DATA_ENV, help="Data folder of the engine [default: bot.toml's data]."
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Settings file [default: ./bot.toml if present]."),
]


def config_path(config: Path | None) -> Path | None:
    return config if config is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)


def offline_settings(config: Path | None, data: Path | None) -> OfflineSettings:
    """The engine settings, data folder and database `serve` would use, so an offline command
    writes the index the bot will open (a --data flag or STICKERBOT_DATA wins over the file)."""
    settings = load_offline_settings(config_path(config))
    return settings if data is None else settings.model_copy(update={"data": data})
