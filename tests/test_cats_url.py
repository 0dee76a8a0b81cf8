"""The CATS URL kept for daemons started without --cats-url: read back normalised, refused when damaged."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.cats_url import CATS_URL_FILE, configured_url, remember_url
from companion.errors import ConfigError
from companion.keystore import DEFAULT_BASE_URL


def test_without_a_stored_url_the_daemon_uses_the_default(tmp_path: Path) -> None:
    assert configured_url(tmp_path) == DEFAULT_BASE_URL


def test_the_url_a_key_was_set_for_is_read_back_normalised(tmp_path: Path) -> None:
    remember_url("https://API.Example.com/v3/", tmp_path)
    assert configured_url(tmp_path) == "https://api.example.com/v3"
    assert (tmp_path / CATS_URL_FILE).stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '["https://api.example.com/v3"]',
        '{"cats_url": 3}',
        '{"cats_url": "http://example.com/v3"}',
    ],
)
def test_a_damaged_url_file_is_refused_with_its_name_rather_than_falling_back(
    tmp_path: Path, content: str
) -> None:
    (tmp_path / CATS_URL_FILE).write_text(content)
    with pytest.raises(ConfigError) as caught:
        configured_url(tmp_path)
    assert str(tmp_path / CATS_URL_FILE) in caught.value.message
    assert "key set --cats-url" in caught.value.message


def test_a_bad_url_is_not_stored(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        remember_url("ftp://example.com", tmp_path)
    assert not (tmp_path / CATS_URL_FILE).exists()
