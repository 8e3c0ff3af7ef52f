from django.contrib import admin

from legacy_monolith.customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("cust_id", "cust_nm", "user", "phone", "crt_dt")
    search_fields = ("cust_nm", "user__username", "phone")
    raw_id_fields = ("user",)
