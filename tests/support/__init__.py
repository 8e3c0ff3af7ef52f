"""Helpers shared by the test suites: free ports, real processes with readiness checks, external servers."""
