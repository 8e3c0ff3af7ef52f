from django.conf import settings
from django.db import models

from legacy_monolith.legacyshop.fields import LocalDateTimeField


class Customer(models.Model):
    cust_id = models.AutoField(primary_key=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, db_column="user_id", on_delete=models.CASCADE, related_name="customer"
    )
    cust_nm = models.CharField("name", max_length=100)
    phone = models.CharField(max_length=30, blank=True, default="")
    addr_txt = models.TextField("address", blank=True, default="")
    crt_dt = LocalDateTimeField("created")

    class Meta:
        db_table = "tbl_customer"
        ordering = ["cust_id"]

    def __str__(self):
        return self.cust_nm
