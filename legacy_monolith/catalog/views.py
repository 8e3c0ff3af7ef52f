from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from legacy_monolith.catalog.forms import AddToCartForm, ProductSearchForm
from legacy_monolith.catalog.models import Product
from legacy_monolith.catalog.queries import search_products
from legacy_monolith.legacyshop.decorators import allow_methods

PRODUCTS_PER_PAGE = 24


@allow_methods("GET", "HEAD")
def product_list(request):
    form = ProductSearchForm(request.GET or None)
    q = category = ""
    if form.is_bound:
        form.is_valid()  # an unknown category must not throw the search words away
        q = form.cleaned_data.get("q", "").strip()
        category = form.cleaned_data.get("category", "")
    products = search_products(q=q, category=category, status=Product.STATUS_ACTIVE, sort="name")
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "catalog/product_list.html",
        {"form": form, "page": page, "query": query.urlencode(), "q": q, "category": category},
    )


@allow_methods("GET", "HEAD")
def product_detail(request, pk):
    product = get_object_or_404(Product.objects.select_related("ctg"), pk=pk)
    return render(request, "catalog/product_detail.html", {"product": product, "form": AddToCartForm()})
