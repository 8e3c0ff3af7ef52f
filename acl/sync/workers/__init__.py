"""What moves events: the outbox relay, the consumers' batch loop and the generic forward consumer, the
monolith's internal endpoints' client, tracing across the seam, and the loop and health endpoint every
long-running sync process runs in."""
