"""Query parameters read the way Django's QueryDict reads them: the last value of a repeated key wins."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

__all__ = ["last_values"]


def last_values(args: MultiDict[str, str]) -> dict[str, str]:
    return {key: values[-1] for key, values in args.lists()}
