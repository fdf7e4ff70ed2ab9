"""Settings: the README's table names every variable the code reads, and values parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from hellow.config import Settings, settings_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_documents_every_setting() -> None:
    text = README.read_text()
    for variables, _default, _help in settings_table():
        for name in variables.split(", "):
            assert f"`{name}`" in text, f"{name} is missing from the README's table"


def test_environment_overrides_defaults_and_flags_override_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HELLOW_PORT", "9123")
    monkeypatch.setenv("KV_URL", "redis://example:6379/0")
    monkeypatch.setenv("HELLOW_HEARTBEAT_S", "2.5")
    monkeypatch.setenv("HELLOW_TEST_HOOKS", "yes")
    settings = Settings.from_env(data_dir=tmp_path)
    assert settings.port == 9123
    assert settings.redis_url == "redis://example:6379/0"
    assert settings.heartbeat_s == 2.5
    assert settings.test_hooks is True
    assert settings.data_dir == tmp_path
    assert Settings.from_env(port=8001).port == 8001


def test_generated_secret_is_kept_private_and_stable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = settings.signing_key()
    assert settings.signing_key() == first
    mode = (tmp_path / "data" / "jwt-secret").stat().st_mode & 0o777
    assert mode == 0o600
    assert len(first) >= 32
