"""The commands of ``python -m acl.sync`` (``acl.sync.__main__`` parses and dispatches): the generic
workers, lag, backfill and dead letters. Each pipeline brings its own (``acl.sync.pipelines``)."""
