"""The `strangler` command's exit codes: stable, documented in docs/cli.md, safe for scripts.

0  OK
1  failed: the control plane refused the change (422), a gate failed, a check found a problem
2  usage: a wrong option or argument, or a confirmation that was needed but not given (--yes)
3  unreachable: the control plane (or the supervisor) did not answer, or answered 503 (it is stopping)
4  not authenticated or not allowed (401/403, no credentials)
5  conflict: the active version moved (409), or the change conflicts with the live table
6  not found (404): no such route, version or upstream
"""

from __future__ import annotations

from enum import IntEnum

from migration_plan.admin_client import AdminApiError, NoCredentials, Unreachable

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    UNREACHABLE = 3
    DENIED = 4
    CONFLICT = 5
    NOT_FOUND = 6


def exit_code_for(error: AdminApiError) -> ExitCode:
    """The exit code that says what kind of failure ``error`` is."""
    status = error.status
    if isinstance(error, Unreachable) or status == 503:
        return ExitCode.UNREACHABLE
    if isinstance(error, NoCredentials):
        return ExitCode.DENIED
    if status in (401, 403):
        return ExitCode.DENIED
    if status == 409:
        return ExitCode.CONFLICT
    if status == 404:
        return ExitCode.NOT_FOUND
    return ExitCode.FAILED
