from django import forms

from legacy_monolith.catalog.models import Category


class ProductSearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    category = forms.ChoiceField(label="Category", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        paths = Category.objects.values_list("cat_path", flat=True).order_by("cat_path")
        self.fields["category"].choices = [("", "All categories")] + [(path, path) for path in paths]


class AddToCartForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=99, initial=1)
