"""The machine's LAN address, for URLs that phones and kiosks must open when the server listens on every address.

`luot serve` with LUOT_HOST=0.0.0.0 and no LUOT_PUBLIC_URL would otherwise print (and put in QR codes)
`http://0.0.0.0:5000`, which no phone can open. The addresses are read from the kernel (one ioctl per interface);
no packet is sent.
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from collections.abc import Iterable

ANY_ADDRESSES = frozenset({"0.0.0.0", "::", ""})
SIOCGIFADDR = 0x8915
#: Interfaces of containers and virtual machines on this host: never the address a phone on the LAN reaches.
VIRTUAL_PREFIXES = ("lo", "docker", "br-", "veth", "virbr", "cni", "flannel", "cali", "tun", "tap", "wg")


def interface_addresses() -> list[tuple[str, str]]:
    """[(interface name, IPv4 address)] of every interface that has one, in kernel order (Linux)."""
    found: list[tuple[str, str]] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name[:15].encode())
            try:
                answer = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, request)
            except OSError:  # no IPv4 address on this interface
                continue
            found.append((name, socket.inet_ntoa(answer[20:24])))
    return found


def choose_lan_address(addresses: Iterable[tuple[str, str]]) -> str | None:
    """The address phones on the LAN should use: a private address of a physical interface first, then any
    non-loopback one; None when there is none (a machine with loopback only)."""
    candidates = [(name, address) for name, address in addresses if not ipaddress.ip_address(address).is_loopback]
    physical = [pair for pair in candidates if not pair[0].startswith(VIRTUAL_PREFIXES)]
    for pool in (physical, candidates):
        private = [address for _, address in pool if ipaddress.ip_address(address).is_private]
        if private:
            return private[0]
        if pool:
            return pool[0][1]
    return None


def reachable_host(host: str) -> tuple[str, bool]:
    """(host to put in URLs, whether it was guessed from the interfaces). A specific host is kept; an
    any-address becomes the LAN address (or 127.0.0.1 when the machine has no network)."""
    if host not in ANY_ADDRESSES:
        return host, False
    return choose_lan_address(interface_addresses()) or "127.0.0.1", True
