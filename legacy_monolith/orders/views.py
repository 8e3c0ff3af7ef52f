from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from legacy_monolith.catalog.models import Product
from legacy_monolith.legacyshop.decorators import allow_methods
from legacy_monolith.orders.cart import Cart
from legacy_monolith.orders.forms import CartAddForm, CartUpdateForm
from legacy_monolith.orders.models import Order
from legacy_monolith.orders.services import CheckoutError, customer_for_user, order_place

ORDERS_PER_PAGE = 20


@allow_methods("GET", "HEAD")
def cart_detail(request):
    cart = Cart(request.session)
    lines = cart.lines()
    return render(
        request,
        "orders/cart.html",
        {"lines": lines, "total": cart.total(), "form": CartUpdateForm(lines=lines)},
    )


@allow_methods("POST")
def cart_add(request, product_id):
    product = get_object_or_404(Product, pk=product_id)
    form = CartAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Please enter a quantity between 1 and 99.")
        return redirect(product)
    if not product.is_active:
        messages.error(request, f"{product.prd_nm} is discontinued.")
        return redirect(product)
    Cart(request.session).add(product.prd_id, form.cleaned_data["quantity"])
    messages.success(request, f"Added {form.cleaned_data['quantity']} x {product.prd_nm} to your cart.")
    return redirect("orders:cart")


@allow_methods("POST")
def cart_update(request):
    cart = Cart(request.session)
    form = CartUpdateForm(request.POST, lines=cart.lines())
    if not form.is_valid():
        messages.error(request, "Quantities must be whole numbers between 0 and 99.")
        return redirect("orders:cart")
    for product_id, quantity in form.quantities().items():
        cart.set(product_id, quantity)
    messages.success(request, "Your cart was updated.")
    return redirect("orders:cart")


@allow_methods("POST")
def cart_remove(request, product_id):
    if Cart(request.session).remove(product_id):
        messages.success(request, "The item was removed from your cart.")
    return redirect("orders:cart")


@allow_methods("GET", "HEAD", "POST")
@login_required
def checkout(request):
    cart = Cart(request.session)
    lines = cart.lines()
    if request.method == "POST":
        try:
            order = order_place(customer=customer_for_user(request.user), quantities=cart.quantities())
        except CheckoutError as exc:
            return render(
                request,
                "orders/checkout.html",
                {"lines": lines, "total": cart.total(), "error": str(exc)},
                status=409,
            )
        cart.clear()
        messages.success(request, f"Thank you! Your order {order.ord_no} was placed.")
        return redirect(order)
    if not lines:
        messages.info(request, "Your cart is empty.")
        return redirect("orders:cart")
    return render(request, "orders/checkout.html", {"lines": lines, "total": cart.total()})


@allow_methods("GET", "HEAD")
@login_required
def order_list(request):
    orders = Order.objects.filter(cust__user=request.user)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "orders/order_list.html", {"page": page})


@allow_methods("GET", "HEAD")
@login_required
def order_detail(request, ord_no):
    order = Order.objects.filter(ord_no=ord_no, cust__user=request.user).first()
    if order is None:
        raise Http404(f"No order {ord_no}")
    lines = order.lines.select_related("prd")
    return render(request, "orders/order_detail.html", {"order": order, "lines": lines})
