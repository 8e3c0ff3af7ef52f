from django.urls import path

from legacy_monolith.orders import api

app_name = "orders_api"

urlpatterns = [
    path("cart", api.cart, name="cart"),
    path("cart/items", api.cart_items, name="cart_items"),
    path("cart/items/<int:product_id>", api.cart_item, name="cart_item"),
    path("orders", api.orders, name="order_list"),
    path("orders/<str:ord_no>", api.order_detail, name="order_detail"),
]
