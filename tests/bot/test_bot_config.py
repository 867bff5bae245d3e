"""Settings: file plus environment, secrets only from the environment, readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_offline_settings, load_settings

REPO_TOML = Path(__file__).parents[2] / "bot.toml"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOKEN", "API_URL", "DATA", "WEBHOOK_SECRET", "DATABASE_URL"):
        monkeypatch.delenv(f"STICKERBOT_{name}", raising=False)
    monkeypatch.setenv("STICKERBOT_TOKEN", "123:SECRET")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(text)
    return path


def test_repo_bot_toml_loads_with_defaults() -> None:
    settings = load_settings(REPO_TOML)
    assert settings.bot.mode == "polling"
    assert settings.bot.cache_time == 5
    assert settings.engine.safe_mode_in_groups


def test_token_in_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, 'token = "123:LEAK"\n'))
    assert caught.value.lines == ["token: set STICKERBOT_TOKEN in the environment, not in the file"]
    assert "LEAK" not in str(caught.value)


def test_database_url_comes_only_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It holds a password: refused in the file, read from the environment by `serve` and by
    the offline commands alike (they must write to the database `serve` reads)."""
    leaky = write(tmp_path, 'database_url = "postgresql://bot:LEAK@db/stickers"\n')
    for load in (load_settings, load_offline_settings):
        with pytest.raises(ConfigError) as caught:
            load(leaky)
        assert caught.value.lines == [
            "database_url: set STICKERBOT_DATABASE_URL in the environment, not in the file"
        ]
        assert "LEAK" not in str(caught.value)
    url = "postgresql://bot:pw@db/stickers"
    monkeypatch.setenv("STICKERBOT_DATABASE_URL", url)
    settings = load_settings(REPO_TOML)
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == url
    assert "pw@" not in repr(settings)
    assert load_offline_settings(REPO_TOML).database_url == url
    monkeypatch.delenv("STICKERBOT_DATABASE_URL")
    assert load_settings(REPO_TOML).database_url is None
    assert load_offline_settings(REPO_TOML).database_url is None


def test_missing_token_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STICKERBOT_TOKEN")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert caught.value.lines == ["token: set STICKERBOT_TOKEN in the environment"]


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STICKERBOT_API_URL", "http://127.0.0.1:8081/bot")
    monkeypatch.setenv("STICKERBOT_DATA", str(tmp_path / "env-data"))
    monkeypatch.setenv("STICKERBOT_WEBHOOK_SECRET", "s3cret")
    settings = load_settings(write(tmp_path, 'data = "file-data"\n'))
    assert settings.data == tmp_path / "env-data"
    assert settings.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == "s3cret"
    assert "123:SECRET" not in repr(settings)


def test_validation_errors_are_field_lines(tmp_path: Path) -> None:
    text = "[bot]\ncache_time = -1\ncolour = 'red'\n[engine]\nhnsw_ef = 1\n"
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    fields = sorted(line.split(":")[0] for line in caught.value.lines)
    assert fields == ["bot.cache_time", "bot.colour", "engine.hnsw_ef"]


def test_webhook_mode_needs_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, '[bot]\nmode = "webhook"\n'))
    assert "webhook_url" in caught.value.lines[0]


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_settings(write(tmp_path, "[bot\n"))
