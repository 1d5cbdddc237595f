"""Which IP addresses `http_get` may connect to: public ones, judged through any IPv4 an IPv6 form carries.

Several IPv6 forms deliver to an IPv4 address written inside them, and Python's `is_global` judges
the IPv6 wrapper, not the IPv4 inside: `[64:ff9b::a9fe:a9fe]` is global, yet on a network with a
NAT64 gateway it reaches the metadata service at 169.254.169.254. So the embedded address is
unwrapped first (IPv4-mapped `::ffff:a.b.c.d`, SIIT `::ffff:0:a.b.c.d`, IPv4-compatible
`::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, and both ends of Teredo `2001::/32`) and must be
public itself. The local-use NAT64 prefix `64:ff9b:1::/48` (RFC 8215) places the IPv4 address where
the local operator chose, so it is refused whole. Does not know about other site-specific translators.
"""

from __future__ import annotations

import ipaddress

__all__ = ["IPAddress", "is_public"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SIIT = ipaddress.IPv6Network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def is_public(address: IPAddress) -> bool:
    """True when `address`, and every IPv4 address it carries, is globally routable and not multicast.

    Example: `is_public(ip_address("2002:7f00:1::1"))` -> False (6to4 around 127.0.0.1)
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return False
        embedded = _embedded_ipv4(address)
        if embedded:
            return all(_is_global(ipv4) for ipv4 in embedded)
    return _is_global(address)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address delivers to by its form; empty for a plain IPv6 address."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if address in _SIIT or address in _NAT64 or address in _COMPATIBLE:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def _is_global(address: IPAddress) -> bool:
    return address.is_global and not address.is_multicast
