from django.contrib import admin

from legacy_monolith.orders.models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ("prd",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("ord_no", "cust", "ord_sts", "tot_amt", "ord_dt")
    list_filter = ("ord_sts",)
    search_fields = ("ord_no", "cust__cust_nm")
    raw_id_fields = ("cust",)
    inlines = [OrderLineInline]
    date_hierarchy = "ord_dt"
