from django import forms

from legacy_monolith.orders.cart import MAX_LINE_QUANTITY


class CartAddForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY, initial=1)


class CartUpdateForm(forms.Form):
    """One ``qty_<product id>`` field per cart line; 0 removes the line."""

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        for line in lines:
            self.fields[f"qty_{line.product.prd_id}"] = forms.IntegerField(
                min_value=0, max_value=MAX_LINE_QUANTITY, initial=line.quantity, label=line.product.prd_nm
            )

    def quantities(self):
        return {int(name[4:]): value for name, value in self.cleaned_data.items() if name.startswith("qty_")}
