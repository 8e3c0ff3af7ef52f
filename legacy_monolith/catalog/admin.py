from django.contrib import admin

from legacy_monolith.catalog.events import (
    FIELD_COLUMNS,
    fields_event_record,
    product_event_record,
    stock_event_record,
)
from legacy_monolith.catalog.models import Category, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("cat_path", "ctg_nm", "parent")
    search_fields = ("cat_path", "ctg_nm")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("prd_cd", "prd_nm", "unit_prc", "stk_qty", "sts_cd", "cat_path", "upd_dt")
    list_filter = ("sts_cd",)
    search_fields = ("prd_cd", "prd_nm")
    readonly_fields = ("cat_path", "crt_dt", "upd_dt")
    list_select_related = ("ctg",)
    raw_id_fields = ("ctg",)

    def save_model(self, request, obj, form, change):
        from django.utils import timezone

        now = timezone.now().replace(microsecond=0)
        if not change:
            obj.crt_dt = now
        obj.upd_dt = now
        super().save_model(request, obj, form, change)
        # The admin runs save_model inside its own transaction, so the event commits with the row.
        if not change:
            fields_event_record(product=obj, changed=[], event_type="product.created")
            return
        stock_set = "stk_qty" in form.changed_data
        # the form's fields are named after the columns (the category as ``ctg``, its path follows)
        changed = [
            column
            for column in FIELD_COLUMNS
            if column in form.changed_data or (column == "cat_path" and "ctg" in form.changed_data)
        ]
        if changed:
            # versioned: the other side applies it only when it did not change them meanwhile
            fields_event_record(product=obj, changed=changed, stock_set=stock_set)
        elif stock_set:
            # a level typed in: it does not commute, so it travels as a set (the other side checks it)
            stock_event_record(product=obj, delta=None, event_type="product.updated")
        else:
            product_event_record(product=obj, event_type="product.updated")
