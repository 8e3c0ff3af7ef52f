"""Sync's half inside a service's own database and transaction: its outbox (``service_outbox``, read by the
reverse relay), and the inbox and appliers of forward sync (``service_inbox``, ``ForwardInbox``)."""
