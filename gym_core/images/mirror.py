"""Which Debian mirror to bootstrap the base image from: the one this machine's apt already uses.

No mirror host is written into rgym: machines behind a proxy or a local mirror keep working, and
``RGYM_DEBIAN_MIRROR`` overrides the choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gym_core.errors import ImageError
from gym_core.settings import get_settings

#: URI schemes debootstrap can fetch from.
FETCHABLE_SCHEMES = ("http://", "https://", "file://")


@dataclass(frozen=True)
class AptSource:
    """One ``deb`` source: where it lives and which suites it serves."""

    uri: str
    suites: tuple[str, ...]

    @property
    def is_main_archive(self) -> bool:
        """True for the archive that serves a release itself (``bookworm``), not updates or security."""
        if not self.uri.startswith(FETCHABLE_SCHEMES):
            return False
        if self.uri.rstrip("/").endswith("-security"):
            return False
        # A release suite is a bare codename; bookworm-updates and bookworm-security are not.
        return any("-" not in suite and "/" not in suite for suite in self.suites)


def parse_deb822(text: str) -> list[AptSource]:
    """Sources in the deb822 format of ``/etc/apt/sources.list.d/*.sources``."""
    sources: list[AptSource] = []
    for paragraph in _paragraphs(text):
        types = paragraph.get("types", "").split()
        if "deb" not in types or paragraph.get("enabled", "yes").lower() == "no":
            continue
        suites = tuple(paragraph.get("suites", "").split())
        sources.extend(AptSource(uri=uri, suites=suites) for uri in paragraph.get("uris", "").split())
    return sources


def parse_one_line(text: str) -> list[AptSource]:
    """Sources in the one-line format of ``/etc/apt/sources.list`` (``deb [opts] URI suite comp...``)."""
    sources: list[AptSource] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        words = line.split()[1:]
        if words and words[0].startswith("["):
            # Options such as [arch=amd64 signed-by=...] may span several words up to the closing bracket.
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2:
            sources.append(AptSource(uri=words[0], suites=(words[1],)))
    return sources


def apt_sources(apt_dir: Path = Path("/etc/apt")) -> list[AptSource]:
    """Every ``deb`` source of this machine, in the order apt reads them."""
    sources: list[AptSource] = []
    main_list = apt_dir / "sources.list"
    if main_list.is_file():
        sources.extend(parse_one_line(main_list.read_text(encoding="utf-8", errors="replace")))
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            # apt ignores anything not ending in .list or .sources (e.g. *.disabled), and so do we.
            if path.suffix == ".list":
                sources.extend(parse_one_line(path.read_text(encoding="utf-8", errors="replace")))
            elif path.suffix == ".sources":
                sources.extend(parse_deb822(path.read_text(encoding="utf-8", errors="replace")))
    return sources


def find_debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The first main Debian archive in this machine's apt sources.

    Raises:
        ImageError: no usable ``deb`` source was found.
    """
    for source in apt_sources(apt_dir):
        if source.is_main_archive:
            return source.uri.rstrip("/")
    raise ImageError(
        f"no Debian archive found in {apt_dir}/sources.list or {apt_dir}/sources.list.d/",
        hint="set RGYM_DEBIAN_MIRROR to a Debian mirror URL",
    )


def debian_mirror() -> str:
    """The mirror in force: RGYM_DEBIAN_MIRROR, else the machine's own."""
    configured = get_settings().debian_mirror
    if configured:
        return configured.rstrip("/")
    return find_debian_mirror()


def _paragraphs(text: str) -> Iterable[dict[str, str]]:
    """deb822 paragraphs as lower-cased field -> value (continuation lines joined)."""
    fields: dict[str, str] = {}
    last: str | None = None
    for raw in [*text.splitlines(), ""]:
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if fields:
                yield fields
            fields, last = {}, None
            continue
        if raw[0].isspace() and last is not None:
            fields[last] += " " + raw.strip()
            continue
        name, sep, value = raw.partition(":")
        if sep:
            last = name.strip().lower()
            fields[last] = value.strip()
