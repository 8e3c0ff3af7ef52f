from django.conf import settings

from legacy_monolith.orders.cart import Cart


def shop(request):
    """Shop name, currency and the cart size for the header of every page."""
    return {
        "shop_name": settings.SHOP_NAME,
        "currency": settings.SHOP_CURRENCY,
        "cart_count": Cart(request.session).count() if hasattr(request, "session") else 0,
    }
