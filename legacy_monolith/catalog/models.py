"""Catalog tables as they were designed in 2015: short column names, prices kept as strings."""

from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse

from legacy_monolith.legacyshop.fields import FixedCharField, LocalDateTimeField

PRICE_VALIDATOR = RegexValidator(r"^\d{1,15}\.\d{2}$", "Enter a price with two decimals, e.g. 19.90.")


class Category(models.Model):
    ctg_id = models.AutoField(primary_key=True)
    ctg_nm = models.CharField("name", max_length=100)
    parent = models.ForeignKey(
        "self",
        db_column="parent_id",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    cat_path = models.CharField("path", max_length=255, unique=True, help_text='e.g. "Home>Kitchen>Knives"')

    class Meta:
        db_table = "tbl_category"
        ordering = ["cat_path"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.cat_path


class Product(models.Model):
    STATUS_ACTIVE = "A"
    STATUS_DISCONTINUED = "D"
    STATUS_CHOICES = [(STATUS_ACTIVE, "Active"), (STATUS_DISCONTINUED, "Discontinued")]

    prd_id = models.AutoField(primary_key=True)
    prd_cd = models.CharField("SKU", max_length=32, unique=True)
    prd_nm = models.CharField("name", max_length=200)
    prd_desc = models.TextField("description", blank=True, default="")
    unit_prc = models.CharField("unit price", max_length=20, validators=[PRICE_VALIDATOR])
    stk_qty = models.IntegerField("stock", default=0, validators=[MinValueValidator(0)])
    sts_cd = FixedCharField("status", max_length=1, choices=STATUS_CHOICES, default=STATUS_ACTIVE)
    ctg = models.ForeignKey(Category, db_column="ctg_id", on_delete=models.PROTECT, related_name="products")
    cat_path = models.CharField(max_length=255, blank=True, default="")
    crt_dt = LocalDateTimeField("created")
    upd_dt = LocalDateTimeField("updated")

    class Meta:
        db_table = "tbl_product"
        ordering = ["prd_id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stk_qty__gte=0), name="tbl_product_stk_qty_gte_0"),
        ]

    def __str__(self):
        return f"{self.prd_cd} {self.prd_nm}"

    def get_absolute_url(self):
        return reverse("catalog:product_detail", args=[self.prd_id])

    @property
    def price(self):
        return Decimal(self.unit_prc)

    @property
    def is_active(self):
        return self.sts_cd == self.STATUS_ACTIVE

    def save(self, *args, **kwargs):
        # The denormalised path has always been copied here on save (the admin relies on it).
        if self.ctg_id is not None:
            self.cat_path = self.ctg.cat_path
        super().save(*args, **kwargs)
