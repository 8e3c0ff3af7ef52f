"""WebSocket pass-through: the handshake routed like any request, then bytes relayed untouched."""
