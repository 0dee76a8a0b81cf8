"""`cats-companion demo` registers the host for the browsers found and says how to load the extension."""

from __future__ import annotations

import json
from pathlib import Path

from companion.cli.demo import extension_dir, extension_lines, host_lines
from companion.cli.host import MANIFEST_FILE, Environment
from companion.nmhost.config import EXTENSION_ID, origin_of


def linux(tmp_path: Path) -> Environment:
    home = tmp_path / "home"
    home.mkdir()
    return Environment(platform="linux", home=home, env={"HOME": str(home)}, launcher_dir=tmp_path / "host")


def test_the_host_is_registered_for_each_browser_found_and_again_without_change(tmp_path: Path) -> None:
    machine = linux(tmp_path)
    (machine.home / ".config" / "chromium").mkdir(parents=True)
    (machine.home / ".config" / "google-chrome").mkdir(parents=True)

    lines = host_lines(machine)
    manifests = [
        machine.home / ".config" / b / "NativeMessagingHosts" / MANIFEST_FILE
        for b in ("google-chrome", "chromium")
    ]
    assert all(m.is_file() for m in manifests)
    manifest = json.loads(manifests[1].read_text())
    assert manifest["allowed_origins"] == [origin_of(EXTENSION_ID)]
    assert Path(manifest["path"]).is_file()
    assert lines[0].startswith("Native host      registered for chrome, chromium")
    before = [m.read_bytes() for m in manifests]

    assert host_lines(machine) == lines
    assert [m.read_bytes() for m in manifests] == before


def test_without_a_browser_nothing_is_written_and_the_fix_is_named(tmp_path: Path) -> None:
    machine = linux(tmp_path)
    lines = host_lines(machine)
    assert "not registered" in lines[0] and "cats-companion install-host" in lines[1]
    assert not (tmp_path / "host").exists()


def test_the_extension_steps_name_the_unpacked_folder(tmp_path: Path) -> None:
    lines = "\n".join(extension_lines())
    assert "chrome://extensions" in lines and "Developer mode" in lines
    assert str(extension_dir()) in lines and (extension_dir() / "manifest.json").is_file()
    assert "extension/ folder of your checkout" in "\n".join(extension_lines(tmp_path))
