"""Where an upstream may point: every spelling of a host parsed to an address, and the policy on addresses.

A host string is compared as the address it names, never as text. ``parse_ip`` reads every spelling the
C library's resolver would connect to: IPv6 in brackets, IPv4-mapped IPv6 (``::ffff:127.0.0.1``,
``::ffff:a9fe:a9fe``), the ``inet_aton`` forms (``127.1``, ``2130706433``, ``0x7f.1``, ``0177.0.0.1``)
and a trailing dot (``169.254.169.254.``). Names are resolved and every address they resolve to is
checked, at registration and again each time a connection is made (a name may resolve elsewhere later).

Policy (:func:`refusal`):

- refused: link-local addresses (``169.254.0.0/16``, ``fe80::/10``: where cloud metadata services
  answer), the other known metadata addresses, the unspecified address (``0.0.0.0``, ``::``: it reaches
  this host), multicast, broadcast and reserved addresses; and the sockets a caller says are its own
  (the control plane's listening address and port, whatever spelling reaches it);
- allowed on purpose: loopback and private addresses. Services beside the proxy (the monolith, the
  extracted services) listen there, so a policy without them would refuse the common case; the
  control plane's own socket is the loopback destination that is refused.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Address",
    "OwnSockets",
    "embedded_ipv4",
    "host_spelling",
    "parse_ip",
    "refusal",
    "resolve_checked",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.ip_address("::1")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA: frozenset[Address] = frozenset(
    {
        ipaddress.ip_address("fd00:ec2::254"),  # AWS instance metadata over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud metadata
        ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud metadata
    }
)
_NUMERIC_V4 = re.compile(r"[0-9a-fA-FxX.]+")


def host_spelling(host: str) -> str:
    """``host`` without IPv6 brackets and a trailing dot, lower case."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    return host.lower()


def parse_ip(host: str) -> Address | None:
    """The address ``host`` spells, in any form the resolver accepts as a number; None for a name.

    IPv4-mapped IPv6 addresses come back as the IPv4 address they carry (a dual-stack socket connects
    there).
    """
    spelled = host_spelling(host)
    if not spelled:
        return None
    address: Address | None
    try:
        address = ipaddress.ip_address(spelled.split("%", 1)[0])
    except ValueError:
        address = _inet_aton(spelled)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _inet_aton(spelled: str) -> ipaddress.IPv4Address | None:
    """The C library's other IPv4 forms (``a``, ``a.b``, ``a.b.c``, hex and octal parts)."""
    if not _NUMERIC_V4.fullmatch(spelled):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(spelled))
    except OSError:
        return None


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries and reaches (mapped, compatible ``::a.b.c.d``, NAT64, 6to4)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    packed = address.packed
    if address in _NAT64:
        return ipaddress.IPv4Address(packed[12:])
    if packed[:12] == bytes(12) and address not in (ipaddress.IPv6Address("::"), _LOOPBACK_V6):
        return ipaddress.IPv4Address(packed[12:])  # IPv4-compatible (deprecated, still routed by some)
    return None


@dataclass(frozen=True)
class OwnSockets:
    """The sockets a process listens on (host as configured, port), which no upstream may reach."""

    endpoints: tuple[tuple[str, int], ...] = ()

    def reaches(self, address: Address, port: int) -> bool:
        """Whether connecting to ``address``:``port`` would reach one of these sockets."""
        for host, own_port in self.endpoints:
            if port != own_port:
                continue
            if _is_local_destination(address, _listening_addresses(host)):
                return True
        return False


def _listening_addresses(host: str) -> frozenset[Address] | None:
    """What a socket bound to ``host`` accepts connections on; None: every address of this host."""
    address = parse_ip(host)
    if address is None:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError:
            return frozenset()
        found = {parse_ip(str(info[4][0])) for info in infos}
        return frozenset(a for a in found if a is not None)
    if address.is_unspecified:
        return None
    return frozenset({address})


def _is_local_destination(address: Address, listening: frozenset[Address] | None) -> bool:
    candidates = {address, *filter(None, [embedded_ipv4(address)])}
    for candidate in candidates:
        if candidate.is_unspecified:
            return True  # connecting to 0.0.0.0 or :: reaches this host
        if listening is None:
            if _is_loopback(candidate) or candidate in _local_addresses():
                return True
            continue
        if candidate in listening:
            return True
        if _is_loopback(candidate) and any(_is_loopback(a) for a in listening):
            return True  # 127.0.0.0/8 and ::1 all reach this host's loopback listeners
    return False


def _is_loopback(address: Address) -> bool:
    return address in _LOOPBACK_V4 if isinstance(address, ipaddress.IPv4Address) else address == _LOOPBACK_V6


def _local_addresses() -> frozenset[Address]:
    """This host's own addresses, as its name resolves (best effort)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM)
    except OSError:
        return frozenset()
    found = {parse_ip(str(info[4][0])) for info in infos}
    return frozenset(a for a in found if a is not None)


def refusal(address: Address, port: int, own: OwnSockets | None = None) -> str | None:
    """Why an upstream may not connect to ``address``:``port``; None when it may."""
    embedded = embedded_ipv4(address)
    for candidate in (embedded, address) if embedded is not None else (address,):
        if candidate.is_link_local or candidate in _METADATA:
            return f"{candidate} is a link-local or cloud metadata address"
        if candidate.is_unspecified:
            return f"{candidate} is the unspecified address (it reaches this host); name the address"
        if candidate.is_multicast or candidate == ipaddress.IPv4Address("255.255.255.255"):
            return f"{candidate} is a multicast or broadcast address"
        if candidate.is_reserved and not candidate.is_private and embedded is None:
            return f"{candidate} is a reserved address"
    if own is not None and own.reaches(address, port):
        return (
            f"{address} port {port} reaches the control plane itself or another private socket of the toolkit"
        )
    return None


def resolve_checked(host: str, port: int, own: OwnSockets | None = None) -> tuple[list[Address], list[str]]:
    """Every address ``host`` stands for now (itself when it is a number), and why any is refused.

    A name that does not resolve is a problem too: nothing could be checked.
    """
    address = parse_ip(host)
    if address is not None:
        addresses = [address]
    else:
        try:
            infos = socket.getaddrinfo(host_spelling(host), port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            return [], [f"{host} does not resolve ({exc})"]
        addresses = _unique(parse_ip(str(info[4][0])) for info in infos)
    problems = [why for why in (refusal(a, port, own) for a in addresses) if why]
    return addresses, problems


def _unique(addresses: Iterable[Address | None]) -> list[Address]:
    seen: list[Address] = []
    for address in addresses:
        if address is not None and address not in seen:
            seen.append(address)
    return seen
