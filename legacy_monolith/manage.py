#!/usr/bin/env python
"""Django's command-line utility for LegacyShop.

Runs both as ``python -m legacy_monolith.manage ...`` and as ``python legacy_monolith/manage.py ...``.
"""

import os
import sys
from pathlib import Path


def main():
    project_root = str(Path(__file__).resolve().parent.parent)
    if project_root not in sys.path:
        sys.path.insert(0, project_root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legacy_monolith.legacyshop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
