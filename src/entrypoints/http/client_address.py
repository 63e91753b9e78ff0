"""Who a request comes from: the peer address, or ``X-Forwarded-For`` when a trusted proxy sent it."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from litestar.types import Scope

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

_LIST_SEPARATORS = re.compile(r"[\s,]+")
_IPV4_WITH_PORT = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}")
_BRACKETED_IPV6 = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?")
IPV6_PREFIX = 64
"""IPv6 clients are keyed by their /64: one subscriber usually holds a whole /64 and could rotate in it."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """Parse a comma or space separated list of addresses and CIDRs (``PRODUCTCORE_TRUSTED_PROXIES``).

    Raises:
        ValueError: an entry is neither an IP address nor a network.
    """
    networks = []
    for entry in (e for e in _LIST_SEPARATORS.split(text) if e):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    text = text.strip()
    if (m := _IPV4_WITH_PORT.fullmatch(text) or _BRACKETED_IPV6.fullmatch(text)) is not None:
        text = m[1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, proxies: Iterable[Network]) -> bool:
    return any(address in network for network in proxies)


def _forwarded_for(scope: Scope) -> list[str]:
    headers = scope.get("headers", ())
    values = [value.decode("latin-1") for name, value in headers if name == b"x-forwarded-for"]
    return [hop for hop in ",".join(values).split(",") if hop.strip()]


def client_address(scope: Scope, proxies: tuple[Network, ...]) -> str:
    """The client's identity for rate limiting.

    ``X-Forwarded-For`` counts only when the peer is a trusted proxy; it is then read from the right,
    skipping trusted proxies, so the first untrusted hop (which a trusted proxy wrote) is the client.
    Entries a client wrote itself sit further left and are never reached. A connection without a
    peer address (``client`` is None: a unix socket, which only a process on this host such as the
    proxy can reach) is trusted too.
    """
    client = scope.get("client")
    peer_text = client[0] if client else ""
    peer = _address(peer_text)
    address: Address | None = peer
    if not peer_text or (peer is not None and proxies and _trusted(peer, proxies)):
        for hop in reversed(_forwarded_for(scope)):
            forwarded = _address(hop)
            if forwarded is None:
                break
            address = forwarded
            if not _trusted(forwarded, proxies):
                break
    if address is None:
        return peer_text or "unknown"
    if isinstance(address, IPv6Address):
        return str(IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)
