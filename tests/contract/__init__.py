"""The contract suite: the same requests against the monolith and the catalog service, answers compared."""
