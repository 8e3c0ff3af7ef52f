"""WebSockets through either front door: routed like any request, then relayed untouched both ways; a flip
leaves open sockets where they are and sends new ones by the new table."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from strangler_proxy.routes import Rule, RuleAction, RuleMatch
from tests.conformance.conftest import FrontDoor

pytestmark = pytest.mark.integration


def _ws_rule(mode: str) -> Rule:
    action = RuleAction(mode=mode, upstream=None if mode == "legacy" else "catalog")
    return Rule(name="live", match=RuleMatch(path="/ws"), action=action)


async def _echo(session: aiohttp.ClientSession, url: str, text: str) -> str:
    async with session.ws_connect(url) as socket:
        await socket.send_str(text)
        return (await socket.receive(timeout=10)).data


def test_a_websocket_is_routed_by_the_table_and_relayed_both_ways(door: FrontDoor) -> None:
    async def run() -> tuple[str, str]:
        async with aiohttp.ClientSession() as session:
            door.publish([_ws_rule("new")])
            moved = await _echo(session, f"{door.url}/ws", "hello")
            door.publish([_ws_rule("legacy")])
            kept = await _echo(session, f"{door.url}/ws", "hello")
            return moved, kept

    assert asyncio.run(run()) == ("catalog:hello", "legacy:hello")


def test_a_flip_leaves_an_open_websocket_on_its_side(door: FrontDoor) -> None:
    async def run() -> list[str]:
        door.publish([_ws_rule("new")])
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{door.url}/ws") as socket:
            await socket.send_str("before")
            heard = [(await socket.receive(timeout=10)).data]
            await asyncio.to_thread(door.publish, [_ws_rule("legacy")])
            await socket.send_str("after")
            heard.append((await socket.receive(timeout=10)).data)
            heard.append(await _echo(session, f"{door.url}/ws", "fresh"))
            return heard

    assert asyncio.run(run()) == ["catalog:before", "catalog:after", "legacy:fresh"]
