from django.urls import path

from legacy_monolith.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.product_list, name="home"),
    path("products/", views.product_list, name="product_list"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
]
