import json

from django.core.management.base import BaseCommand
from django.urls import URLPattern, URLResolver, get_resolver


def _pattern_text(pattern):
    text = str(pattern.pattern)
    return text.removeprefix("^").removesuffix("$")


def _view_name(callback):
    view = getattr(callback, "view_class", None) or callback
    module = getattr(view, "__module__", "") or ""
    name = getattr(view, "__qualname__", None) or view.__class__.__name__
    return f"{module}.{name}" if module else name


def _methods(callback):
    methods = getattr(callback, "http_methods", None)
    if methods:
        return list(methods)
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return sorted(
            m.upper() for m in view_class.http_method_names if hasattr(view_class, m) and m != "options"
        )
    return None


def iter_urls(resolver, prefix="", namespace=None):
    """Every URLPattern under ``resolver`` as (pattern, name, view, methods), in resolution order."""
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            child_ns = namespace
            if entry.namespace:
                child_ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from iter_urls(entry, prefix + _pattern_text(entry), child_ns)
        elif isinstance(entry, URLPattern):
            name = entry.name
            if name and namespace:
                name = f"{namespace}:{name}"
            yield {
                "pattern": "/" + prefix + _pattern_text(entry),
                "name": name,
                "methods": _methods(entry.callback),
                "view": _view_name(entry.callback),
            }


class Command(BaseCommand):
    help = "Print the URLconf as JSON: a list of {pattern, name, methods, view} in resolution order."

    def add_arguments(self, parser):
        parser.add_argument("--indent", type=int, default=2)
        parser.add_argument("--exclude-admin", action="store_true", help="leave out the /admin/ routes")

    def handle(self, *args, **options):
        urls = list(iter_urls(get_resolver()))
        if options["exclude_admin"]:
            urls = [url for url in urls if not url["pattern"].startswith("/admin/")]
        self.stdout.write(json.dumps(urls, indent=options["indent"] or None, ensure_ascii=False))
