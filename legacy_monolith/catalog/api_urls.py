from django.urls import path

from legacy_monolith.catalog import api

app_name = "catalog_api"

urlpatterns = [
    path("products", api.product_list, name="product_list"),
    path("products/<int:pk>", api.product_detail, name="product_detail"),
    path("products/<int:pk>/stock", api.product_stock, name="product_stock"),
]
