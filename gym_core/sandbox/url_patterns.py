"""A task's ``blocked_urls``: which URLs (and, for HTTPS, which hosts) an egress sandbox may not reach.

A pattern is a URL without its scheme, ``*`` matching any run of characters (``/`` included)::

    arxiv.org/abs/2310.01234          the paper's page, and everything below it (v2, ?query, /...)
    *github.com/some-lab/method*      the code, on github.com or any subdomain
    openreview.net/forum?id=AbCd      one forum page

Matching is case-insensitive and anchored at the host: a pattern matches a URL when it matches the
beginning of the URL's canonical form ``host[:port]/path[?query]``, so it also covers every page below
it. A pattern written with a scheme (``https://arxiv.org/abs/...``) is the same pattern: it blocks both
schemes. The canonical form defeats spellings that name the same page differently: the host is
lowercased, its trailing dot and a leading ``www.`` are dropped (in patterns too), the default port
(80, 443) is dropped, percent-escapes are decoded (all of them, repeatedly: ``%2E`` is ``.``, ``%2F`` and
``%252F`` are ``/``, since many servers decode them before routing), backslashes count as ``/``, ``/./``
and ``/../`` segments are resolved and runs of ``/`` collapse to one; user info and fragments are dropped.
A pattern for a domain covers its subdomains (``arxiv.org/abs/...`` also blocks ``export.arxiv.org/abs/...``).
Decoding more than a server would can only block more, never less.

HTTPS hides the path: for a tunnel (``CONNECT host:443``) only the host is known, so a host is refused
when *any* pattern could match a URL on it (``arxiv.org/abs/2310.01234`` refuses every HTTPS page of
arxiv.org). That is the price of not decrypting traffic; see docs/tasks.md.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_host(host: str) -> str:
    """A host name as patterns see it: lowercase, no trailing dot, no leading ``www.``, no IPv6 brackets."""
    host = host.strip().strip("[]").lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _decode_all(text: str) -> str:
    """Decode every percent-escape, again while any is left (double encoding), at most a few rounds."""
    for _ in range(4):
        decoded = unquote(text, errors="replace")
        if decoded == text:
            break
        text = decoded
    return text


def canonical_path(path: str) -> str:
    """A path with escapes decoded, ``\\`` as ``/``, dot segments resolved and runs of ``/`` collapsed."""
    path = _decode_all(path or "/").replace("\\", "/")
    if not path.startswith("/"):
        path = "/" + path
    trailing = path.endswith("/") or path.endswith("/.") or path.endswith("/..")
    normal = posixpath.normpath(re.sub("/+", "/", path))
    normal = re.sub("^/+", "/", normal)  # normpath keeps a leading "//"
    if trailing and normal != "/":
        normal += "/"
    return normal


def canonical_url(url: str) -> str:
    """The form patterns are matched against: ``host[:port]/path[?query]`` (see the module docstring).

    Raises:
        ValueError: the URL has no host.
    """
    parts = urlsplit(url if _SCHEME.match(url) else f"http://{url}")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host")
    scheme = parts.scheme.lower()
    port = parts.port
    host = canonical_host(parts.hostname)
    where = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    query = f"?{_decode_all(parts.query)}" if parts.query else ""
    return f"{where}{canonical_path(parts.path)}{query}"


def canonical_pattern(pattern: str) -> str:
    """A pattern as it is matched: no scheme, its host part canonical (wildcards kept), lowercase."""
    text = _SCHEME.sub("", pattern.strip())
    host, sep, rest = text.partition("/")
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    host = re.sub(r":(80|443)$", "", host)
    rest = _decode_all(rest).replace("\\", "/")
    return (host + sep + rest).lower()


class _Glob:
    """One canonical pattern, matched as a prefix of a canonical URL (``*`` is any run of characters)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.pieces = pattern.split("*")
        self._accept = (len(self.pieces) - 1, len(self.pieces[-1]))

    def _close(self, states: set[tuple[int, int]]) -> set[tuple[int, int]]:
        """Add the states reached for free: a finished piece moves on past the star that follows it."""
        out = set(states)
        todo = list(states)
        while todo:
            piece, off = todo.pop()
            if off == len(self.pieces[piece]) and piece < len(self.pieces) - 1:
                nxt = (piece + 1, 0)
                if nxt not in out:
                    out.add(nxt)
                    todo.append(nxt)
        return out

    def _read(self, states: set[tuple[int, int]], ch: str) -> set[tuple[int, int]]:
        """The states after one more character: a literal read on, or a star (before a piece) eating it."""
        nxt: set[tuple[int, int]] = set()
        for piece, off in states:
            literal = self.pieces[piece]
            if off < len(literal) and literal[off] == ch:
                nxt.add((piece, off + 1))
            if piece > 0 and off == 0:
                nxt.add((piece, 0))
        return self._close(nxt)

    def matches_prefix_of(self, text: str) -> bool:
        """True when the pattern matches ``text`` or a beginning of it."""
        states = self._close({(0, 0)})
        for ch in text:
            if self._accept in states:
                return True
            states = self._read(states, ch)
            if not states:
                return False
        return self._accept in states

    def could_match_on_host(self, where: str) -> bool:
        """True when the pattern can match a URL on ``where`` (``host[:port]``) with its own letters.

        A tunnel shows only the host, so any URL on it might be asked for. The pattern must spell out part
        of the host itself: ``*github.com*repo*`` is about github.com (and mygithub.com), not about every
        host whose path could happen to contain ``github.com``. A pattern of stars alone is about every host.
        """
        if not any(self.pieces):
            return True
        # states carry whether a letter of the host was read by a literal of the pattern
        states = {(p, o, False) for p, o in self._close({(0, 0)})}
        for i, ch in enumerate(where + "/"):
            in_host = i < len(where)
            if any(lit for p, o, lit in states if (p, o) == self._accept):
                return True
            nxt: set[tuple[int, int, bool]] = set()
            for piece, off, lit in states:
                literal = self.pieces[piece]
                if off < len(literal) and literal[off] == ch:
                    nxt.update((p, o, lit or in_host) for p, o in self._close({(piece, off + 1)}))
                if piece > 0 and off == 0:
                    nxt.add((piece, 0, lit))
            states = nxt
            if not states:
                return False
        return any(lit for _, _, lit in states)


class UrlPatterns:
    """A task's blocked URL patterns, ready to match requests (see the module docstring)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = [p for p in (str(p).strip() for p in patterns) if p]
        self._globs = [(p, _Glob(canonical_pattern(p))) for p in self.patterns]

    def __bool__(self) -> bool:
        return bool(self._globs)

    def literal_hosts(self) -> list[str]:
        """The host names patterns spell out without wildcards (their IP addresses are blocked too)."""
        hosts = []
        for _, glob in self._globs:
            host = glob.pattern.partition("/")[0].rsplit(":", 1)[0]
            if host and "*" not in host and host not in hosts:
                hosts.append(host)
        return hosts

    def match_url(self, url: str) -> str | None:
        """The first pattern that blocks ``url`` (or the same URL on a parent domain), or None.

        Raises:
            ValueError: the URL has no host.
        """
        canonical = canonical_url(url).lower()
        for form in _parent_domains(canonical):
            for original, glob in self._globs:
                if glob.matches_prefix_of(form):
                    return original
        return None

    def match_host(self, host: str, port: int) -> str | None:
        """The first pattern that could match a URL on ``host:port`` (a tunnel's view), or None."""
        name = canonical_host(host)
        where = [f"{name}:{port}"] + ([name] if port in (80, 443) else [])
        for spelled in where:
            for form in _parent_domains(spelled):
                for original, glob in self._globs:
                    if glob.could_match_on_host(form):
                        return original
        return None


def _parent_domains(canonical: str) -> list[str]:
    """``a.b.org/x`` and the same URL on each parent domain (``b.org/x``): a pattern for a domain covers
    its subdomains. IP addresses have none."""
    host, sep, rest = canonical.partition("/")
    name, colon, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if not colon:
        name, port = host, ""
    forms = [canonical]
    if ":" in name or re.fullmatch(r"[0-9.]+", name):
        return forms
    labels = name.split(".")
    for i in range(1, len(labels) - 1):
        parent = ".".join(labels[i:])
        forms.append(f"{parent}{colon}{port}{sep}{rest}")
    return forms
