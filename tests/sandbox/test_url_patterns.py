"""blocked_urls patterns: what a URL (plain HTTP) and a host (an HTTPS tunnel) are matched as."""

from __future__ import annotations

import pytest

from gym_core.sandbox.url_patterns import UrlPatterns, canonical_url

PATTERNS = UrlPatterns(
    [
        "arxiv.org/abs/2310.01234",
        "*github.com*toy-ranking*",
        "https://www.openreview.net/forum?id=AbCd",
        "paper.test:8080/pdf/*",
    ]
)


@pytest.mark.parametrize(
    ("url", "pattern"),
    [
        ("http://arxiv.org/abs/2310.01234", "arxiv.org/abs/2310.01234"),
        ("https://arxiv.org/abs/2310.01234v2", "arxiv.org/abs/2310.01234"),  # below the page
        ("http://export.arxiv.org/abs/2310.01234", "arxiv.org/abs/2310.01234"),  # a subdomain
        ("http://WWW.ArXiv.Org./abs/2310.01234", "arxiv.org/abs/2310.01234"),  # case, www., trailing dot
        ("http://arxiv.org:80/abs/2310.01234", "arxiv.org/abs/2310.01234"),  # the default port
        ("http://arxiv.org/abs/2310%2E01234", "arxiv.org/abs/2310.01234"),  # escapes
        ("http://arxiv.org/abs%2F2310.01234", "arxiv.org/abs/2310.01234"),  # an escaped slash
        ("http://arxiv.org/abs%252F2310.01234", "arxiv.org/abs/2310.01234"),  # double encoding
        ("http://arxiv.org/x/../abs//2310.01234", "arxiv.org/abs/2310.01234"),  # dot segments, slashes
        ("http://arxiv.org/abs\\2310.01234", "arxiv.org/abs/2310.01234"),  # a backslash
        ("http://user:pw@arxiv.org/abs/2310.01234#frag", "arxiv.org/abs/2310.01234"),
        ("http://github.com/Some-Lab/Toy-Ranking/blob/main/x.py", "*github.com*toy-ranking*"),
        ("http://openreview.net/forum?id=AbCd&noteId=1", "https://www.openreview.net/forum?id=AbCd"),
        ("http://paper.test:8080/pdf/1.pdf", "paper.test:8080/pdf/*"),
        ("http://arxiv.org/abs/2310.09999", None),  # another paper
        ("http://arxiv.org.mirror.example/abs/2310.01234", None),  # another site
        ("http://github.com/other/repo", None),
        ("http://paper.test:9090/pdf/1.pdf", None),  # another port
        ("http://paper.test:8080/pdfs", None),
    ],
)
def test_a_url_is_matched_in_its_canonical_form(url: str, pattern: str | None) -> None:
    assert PATTERNS.match_url(url) == pattern


@pytest.mark.parametrize(
    ("host", "port", "blocked"),
    [
        ("arxiv.org", 443, True),  # the path is encrypted: any page of the host might be the paper
        ("export.arxiv.org", 443, True),
        ("arxiv.org", 22, True),  # any port of a blocked host: a tunnel carries anything
        ("github.com", 443, True),
        ("api.github.com", 443, True),
        ("paper.test", 8080, True),
        ("example.com", 443, False),  # *github.com* is about github.com, not every host's path
        ("arxiv.org.mirror.example", 443, False),
        ("pypi.org", 443, False),
    ],
)
def test_a_tunnel_is_refused_when_a_pattern_could_match_a_url_on_its_host(
    host: str, port: int, blocked: bool
) -> None:
    assert (
        PATTERNS.match_host(host, port) is not None or PATTERNS.match_host(host, 443) is not None
    ) is blocked


def test_stars_alone_block_everything_and_no_patterns_nothing() -> None:
    assert UrlPatterns(["*"]).match_url("http://a.example/x") == "*"
    assert UrlPatterns(["*"]).match_host("a.example", 443) == "*"
    assert not UrlPatterns([]) and UrlPatterns([]).match_url("http://a.example/") is None


def test_literal_hosts_are_those_without_wildcards() -> None:
    assert PATTERNS.literal_hosts() == ["arxiv.org", "openreview.net", "paper.test"]  # names, not ports


def test_canonical_url() -> None:
    assert canonical_url("HTTPS://Www.Example.COM:443/a/./b/../c?q=%41") == "example.com/a/c?q=A"
    with pytest.raises(ValueError):
        canonical_url("http:///nohost")
