"""``manage.py urls_json``: the URLconf as JSON, for the toolkit's route inventory."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from strangler_django.inventory import url_inventory


class Command(BaseCommand):
    help = "Print the URLconf as JSON: a list of {pattern, name, methods, view} in resolution order."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--indent", type=int, default=2)
        parser.add_argument("--exclude-admin", action="store_true", help="leave out the /admin/ routes")
        parser.add_argument("--urlconf", default=None, help="another URLconf module than ROOT_URLCONF")

    def handle(self, *args: Any, **options: Any) -> None:
        urls = url_inventory(exclude_admin=options["exclude_admin"], urlconf=options["urlconf"])
        self.stdout.write(json.dumps(urls, indent=options["indent"] or None, ensure_ascii=False))
