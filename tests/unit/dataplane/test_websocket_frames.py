"""The relay's frame cursor: where frames end, however the bytes are split, and the Close frames it writes."""

from __future__ import annotations

import struct

import pytest
from wsproto.frame_protocol import FrameProtocol, Opcode

from strangler_proxy.dataplane.websocket.frames import FrameCursor, close_frame

TEXT = bytes([0x81, 5]) + b"hello"
BINARY_16 = bytes([0x82, 126]) + struct.pack("!H", 300) + b"b" * 300
MASKED_PING = bytes([0x89, 0x80]) + b"abcd"
BINARY_64 = bytes([0x82, 127]) + struct.pack("!Q", 70_000) + b"c" * 70_000
STREAM = TEXT + BINARY_16 + MASKED_PING + BINARY_64
BOUNDARIES = [0, 7, 7 + 304, 7 + 304 + 6, len(STREAM)]


@pytest.mark.parametrize("split", [1, 2, 3, 7, 8, 9, 10, 311, 312, 316, 317, 318, 320, 500, len(STREAM) - 1])
def test_boundaries_are_found_however_the_bytes_are_split(split: int) -> None:
    cursor = FrameCursor()
    cursor.feed(STREAM[:split])
    assert cursor.at_boundary == (split in BOUNDARIES)
    cursor.feed(STREAM[split:])
    assert cursor.at_boundary and cursor.last_opcode == 0x2


@pytest.mark.parametrize("start", [0, 1, 5, 7, 8, 100, 311, 314, 317, 400])
def test_feed_to_boundary_stops_at_the_next_boundary(start: int) -> None:
    cursor = FrameCursor()
    cursor.feed(STREAM[:start])
    used = cursor.feed_to_boundary(STREAM[start:])
    expected = 0 if start in BOUNDARIES else min(b for b in BOUNDARIES if b > start) - start
    assert used == expected
    assert cursor.at_boundary


def test_a_close_frame_is_seen() -> None:
    cursor = FrameCursor()
    cursor.feed(TEXT + close_frame(1000, "bye", masked=False)[:3])
    assert not cursor.closed
    cursor.feed(close_frame(1000, "bye", masked=False)[3:])
    assert cursor.closed and cursor.at_boundary


@pytest.mark.parametrize("masked", [False, True])
def test_close_frames_are_what_a_websocket_implementation_reads(masked: bool) -> None:
    # a server reads masked frames (client_side=False), a client unmasked ones
    reader = FrameProtocol(client=not masked, extensions=[])
    reader.receive_bytes(close_frame(1012, "the route moved; reconnect", masked=masked))
    [frame] = list(reader.received_frames())
    assert frame.opcode is Opcode.CLOSE
    code, reason = frame.payload
    assert (int(code), reason) == (1012, "the route moved; reconnect")
