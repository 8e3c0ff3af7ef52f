from django.contrib import admin

from legacy_monolith.orders.events import order_event_record
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

    def save_related(self, request, form, formsets, change):
        # Lines are saved here, after save_model; the admin's transaction is still open.
        super().save_related(request, form, formsets, change)
        if not change:
            event_type = "order.placed"
        elif "ord_sts" in form.changed_data:
            event_type = "order.status_changed"
        elif form.has_changed() or any(formset.has_changed() for formset in formsets):
            event_type = "order.updated"
        else:
            return
        order_event_record(order=form.instance, event_type=event_type)
