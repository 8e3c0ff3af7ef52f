"""The sync engine's model and its storage: events, the tables sync reads or owns, engines, inboxes,
read-your-writes positions, versions and stock versions, outcomes, ports, lag, dead letters, backfill
checkpoints, and what reconcile and history checks share. It runs nothing."""
