from django.apps import AppConfig


def widget_payload(widget):
    """The payload of the project's widget events: what its change events carry."""
    return {"id": widget.pk, "name": widget.name, "colour": widget.colour}


class ShopConfig(AppConfig):
    name = "suite_project.shop"
    label = "shop"

    def ready(self):
        from strangler_django.snapshots import register_snapshot
        from suite_project.shop.models import Widget

        register_snapshot("widget", lambda: Widget.objects.all(), widget_payload)
