"""The legacy's WebSocket: greets, echoes with its name, tells what it saw of the handshake."""

from __future__ import annotations

import json

from channels.generic.websocket import WebsocketConsumer


class EchoConsumer(WebsocketConsumer):
    """``hello from legacy`` on connect (accepting subprotocol ``chat.v1`` when offered), then each
    message back as ``legacy: <message>``; ``whoami`` is answered with the handshake's
    X-Strangler-Identity (or ``none``), ``headers`` with the handshake's header names."""

    def connect(self) -> None:
        offered = self.scope.get("subprotocols") or []
        self.accept("chat.v1" if "chat.v1" in offered else None)
        self.send(text_data="hello from legacy")

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None:
            self.send(bytes_data=bytes_data)
            return
        headers = dict(self.scope["headers"])
        if text_data == "whoami":
            self.send(text_data=headers.get(b"x-strangler-identity", b"none").decode())
        elif text_data == "headers":
            self.send(text_data=json.dumps(sorted(name.decode() for name in headers)))
        else:
            self.send(text_data=f"legacy: {text_data}")
