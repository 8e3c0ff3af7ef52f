from decimal import Decimal

from django.db import models
from django.urls import reverse

from legacy_monolith.catalog.models import Product
from legacy_monolith.customers.models import Customer
from legacy_monolith.legacyshop.fields import FixedCharField, LocalDateTimeField


class Order(models.Model):
    STATUS_NEW = "N"
    STATUS_PAID = "P"
    STATUS_SHIPPED = "S"
    STATUS_CANCELLED = "C"
    STATUS_CHOICES = [
        (STATUS_NEW, "New"),
        (STATUS_PAID, "Paid"),
        (STATUS_SHIPPED, "Shipped"),
        (STATUS_CANCELLED, "Cancelled"),
    ]

    ord_id = models.AutoField(primary_key=True)
    ord_no = models.CharField("order number", max_length=30, unique=True)
    cust = models.ForeignKey(Customer, db_column="cust_id", on_delete=models.PROTECT, related_name="orders")
    ord_sts = FixedCharField("status", max_length=1, choices=STATUS_CHOICES, default=STATUS_NEW)
    tot_amt = models.CharField("total", max_length=20)
    ord_dt = LocalDateTimeField("ordered")

    class Meta:
        db_table = "tbl_order"
        ordering = ["-ord_dt", "-ord_id"]

    def __str__(self):
        return self.ord_no

    def get_absolute_url(self):
        return reverse("orders:order_detail", args=[self.ord_no])

    @property
    def total(self):
        return Decimal(self.tot_amt)


class OrderLine(models.Model):
    line_id = models.AutoField(primary_key=True)
    ord = models.ForeignKey(Order, db_column="ord_id", on_delete=models.CASCADE, related_name="lines")
    prd = models.ForeignKey(Product, db_column="prd_id", on_delete=models.PROTECT, related_name="order_lines")
    qty = models.IntegerField("quantity")
    unit_prc = models.CharField("unit price", max_length=20)

    class Meta:
        db_table = "tbl_order_line"
        ordering = ["line_id"]

    def __str__(self):
        return f"{self.qty} x {self.prd_id}"

    @property
    def line_total(self):
        return Decimal(self.unit_prc) * self.qty
