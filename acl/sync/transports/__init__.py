"""Transports between the relay and the consumers: a SQL table stream (default) and Redis Streams."""

from acl.sync.transports.base import Delivery, Transport
from acl.sync.transports.redis_stream import RedisStreamTransport
from acl.sync.transports.sql_stream import SqlStreamTransport

__all__ = ["Delivery", "RedisStreamTransport", "SqlStreamTransport", "Transport"]
