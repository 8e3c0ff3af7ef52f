"""The transactional outbox: every business change writes an event row in the same transaction."""
