"""Finding the Debian mirror in apt sources files (deb822 and one-line formats)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_core.errors import ImageError
from gym_core.images.mirror import debian_mirror, find_debian_mirror, parse_deb822, parse_one_line
from gym_core.settings import get_settings

DEB822 = """\
Types: deb
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src deb
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def _apt_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (apt / name).write_text(text)
    return apt


def test_deb822_skips_security_and_takes_the_release_archive(tmp_path: Path) -> None:
    apt = _apt_dir(tmp_path, {"sources.list.d/debian.sources": DEB822})
    assert find_debian_mirror(apt) == "http://mirror.example/debian"


def test_deb822_disabled_paragraphs_and_src_only_entries_are_ignored() -> None:
    text = "Types: deb-src\nURIs: http://a.example/debian\nSuites: bookworm\n\n"
    text += "Types: deb\nEnabled: no\nURIs: http://b.example/debian\nSuites: bookworm\n\n"
    text += "Types: deb\nURIs:\n http://c.example/debian\nSuites: bookworm\n"
    assert [s.uri for s in parse_deb822(text)] == ["http://c.example/debian"]


def test_one_line_format_with_options() -> None:
    text = (
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://one.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
    )
    sources = parse_one_line(text)
    assert [(s.uri, s.suites) for s in sources] == [("http://one.example/debian", ("bookworm",))]


def test_sources_list_comes_before_sources_list_d_and_odd_suffixes_are_ignored(tmp_path: Path) -> None:
    apt = _apt_dir(
        tmp_path,
        {
            "sources.list": "deb http://security.example/debian-security bookworm-security main\n"
            "deb http://first.example/debian bookworm main\n",
            "sources.list.d/debian.sources": DEB822,
            "sources.list.d/other.list.disabled-by-farm": "deb http://disabled.example/debian bookworm main\n",
        },
    )
    assert find_debian_mirror(apt) == "http://first.example/debian"


def test_only_updates_or_unfetchable_sources_is_a_clear_error(tmp_path: Path) -> None:
    apt = _apt_dir(
        tmp_path,
        {
            "sources.list": "deb cdrom:[Debian 12]/ bookworm main\n"
            "deb http://x.example/debian bookworm-updates main\n",
        },
    )
    with pytest.raises(ImageError, match="no Debian archive found") as info:
        find_debian_mirror(apt)
    assert "RGYM_DEBIAN_MIRROR" in str(info.value)


def test_the_setting_overrides_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RGYM_DEBIAN_MIRROR", "http://override.example/debian/")
    get_settings.cache_clear()
    assert debian_mirror() == "http://override.example/debian"
