"""The client's address: the peer, or X-Forwarded-For read from the right when a trusted proxy sent it."""

from __future__ import annotations

from typing import Any

import pytest

from entrypoints.http.client_address import client_address, parse_networks


def scope(peer: str, *forwarded: str) -> Any:
    """An ASGI HTTP scope from ``peer`` with one X-Forwarded-For header per value."""
    return {
        "type": "http",
        "client": (peer, 40000),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


PROXIES = parse_networks("10.0.0.0/8, 192.0.2.1 2001:db8::/32")


@pytest.mark.parametrize(
    ("request_scope", "expected"),
    [
        (scope("203.0.113.5"), "203.0.113.5"),
        (scope("203.0.113.5", "198.51.100.1"), "203.0.113.5"),
        (scope("10.1.2.3", "198.51.100.1"), "198.51.100.1"),
        (scope("10.1.2.3", "6.6.6.6, 198.51.100.1"), "198.51.100.1"),
        (scope("10.1.2.3", "198.51.100.1, 10.9.9.9"), "198.51.100.1"),
        (scope("10.1.2.3", "6.6.6.6", "198.51.100.1"), "198.51.100.1"),
        (scope("10.1.2.3", "10.2.2.2, 10.3.3.3"), "10.2.2.2"),
        (scope("10.1.2.3", "not-an-ip, 10.3.3.3"), "10.3.3.3"),
        (scope("10.1.2.3"), "10.1.2.3"),
        (scope("10.1.2.3", "198.51.100.1:4711"), "198.51.100.1"),
        (scope("10.1.2.3", "[2001:db9::1]:443"), "2001:db9::/64"),
        (scope("192.0.2.1", "198.51.100.7"), "198.51.100.7"),
        (scope("::ffff:203.0.113.5"), "203.0.113.5"),
        (scope("2001:db9:1:2:aaaa::1"), "2001:db9:1:2::/64"),
        (scope("2001:db8::5", "2001:db9:1:2:bbbb::1"), "2001:db9:1:2::/64"),
        (scope("testclient", "198.51.100.1"), "testclient"),
    ],
    ids=[
        "peer",
        "untrusted-peer-header-ignored",
        "trusted-proxy",
        "forged-left-hop-ignored",
        "chain-of-proxies",
        "several-headers-joined",
        "only-proxies-leftmost-wins",
        "garbage-hop-stops",
        "trusted-without-header",
        "ipv4-with-port",
        "bracketed-ipv6-with-port",
        "single-address-proxy",
        "ipv4-mapped",
        "ipv6-by-slash-64",
        "ipv6-proxy",
        "non-ip-peer",
    ],
)
def test_client_address(request_scope: Any, expected: str) -> None:
    """Only trusted proxies' headers count, read right to left, so a client cannot name itself."""
    assert client_address(request_scope, PROXIES) == expected


def test_no_trusted_proxies_means_the_peer_always() -> None:
    """With no proxies configured, X-Forwarded-For is never read."""
    assert client_address(scope("10.1.2.3", "198.51.100.1"), ()) == "10.1.2.3"


@pytest.mark.parametrize("proxies", [PROXIES, ()], ids=["proxies", "no-proxies"])
def test_behind_a_proxy_on_a_unix_socket_each_client_is_its_own(proxies: Any) -> None:
    """A unix-socket connection (no peer address) comes from a local proxy: X-Forwarded-For names the
    client, so clients behind it get budgets of their own, not one shared "unknown" budget."""
    unix = {"type": "http", "client": None, "headers": [(b"x-forwarded-for", b"6.6.6.6, 198.51.100.1")]}
    other = {"type": "http", "client": None, "headers": [(b"x-forwarded-for", b"198.51.100.2")]}
    assert client_address(unix, proxies) == "198.51.100.1"
    assert client_address(other, proxies) == "198.51.100.2"
    assert client_address({"type": "http", "client": None, "headers": []}, proxies) == "unknown"


def test_bad_proxy_entries_are_named() -> None:
    """A proxy list entry that is not an address or network is refused by name."""
    with pytest.raises(ValueError, match=r"'proxy\.example' is not an IP address or CIDR"):
        parse_networks("10.0.0.1, proxy.example")
