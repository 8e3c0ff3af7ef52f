"""The address guard's parser and policy: every spelling of an address is the address it names."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from strangler_proxy.routes.addresses import OwnSockets, parse_ip, refusal, resolve_checked

pytestmark = pytest.mark.unit

CONTROL_PLANE = OwnSockets((("127.0.0.1", 8001),))

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "[::ffff:127.0.0.1]",
    "127.1",
    "2130706433",
    "0x7f.1",
    "0x7f000001",
    "0177.0.0.1",
    "127.0.0.1.",
    "[::ffff:7f00:1]",
]
METADATA_SPELLINGS = [
    "169.254.169.254",
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]",
    "2852039166",
    "0xa9fea9fe",
    "0251.0376.0251.0376",
    "169.254.169.254.",
    "169.254.43518",
    "[fd00:ec2::254]",
    "[fe80::1]",
    "[64:ff9b::a9fe:a9fe]",
]


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_127_0_0_1(spelling: str) -> None:
    assert parse_ip(spelling) == ipaddress.ip_address("127.0.0.1")


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_the_control_planes_own_socket_is_refused_in_every_spelling_and_other_ports_are_not(
    spelling: str,
) -> None:
    address = parse_ip(spelling)
    assert address is not None
    assert "control plane itself" in (refusal(address, 8001, CONTROL_PLANE) or "")
    assert refusal(address, 8201, CONTROL_PLANE) is None, "loopback upstreams are allowed on purpose"


@pytest.mark.parametrize("spelling", METADATA_SPELLINGS)
def test_metadata_and_link_local_addresses_are_refused_in_every_spelling(spelling: str) -> None:
    address = parse_ip(spelling)
    assert address is not None, spelling
    assert "metadata" in (refusal(address, 80) or ""), spelling


@pytest.mark.parametrize("spelling", ["0", "0.0.0.0", "[::]", "[::ffff:0.0.0.0]"])
def test_the_unspecified_address_reaches_this_host_and_is_refused(spelling: str) -> None:
    address = parse_ip(spelling)
    assert address is not None and "unspecified" in (refusal(address, 8201) or "")


def test_names_are_not_numbers() -> None:
    for name in ("catalog", "cafe.be", "1e100", "legacy.internal", "deadbeef"):
        assert parse_ip(name) is None, name


def test_a_control_plane_bound_to_every_address_is_reached_through_any_local_one() -> None:
    everywhere = OwnSockets((("0.0.0.0", 8001),))
    for spelling in ("127.0.0.2", "[::1]", "0x7f.1"):
        address = parse_ip(spelling)
        assert address is not None and refusal(address, 8001, everywhere), spelling


def test_every_address_a_name_resolves_to_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake resolver stands in for DNS: one good address and one refused one refuse the name."""
    answers = {
        "twofaced.example": ["10.0.0.7", "169.254.169.254"],
        "plain.example": ["10.0.0.7"],
    }

    def fake_getaddrinfo(host: str, port: object, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    addresses, problems = resolve_checked("twofaced.example", 80)
    assert [str(a) for a in addresses] == ["10.0.0.7", "169.254.169.254"]
    assert problems and "metadata" in problems[0]
    assert resolve_checked("plain.example", 80)[1] == []
    assert "does not resolve" in resolve_checked("nowhere.example", 80)[1][0]
