"""The shop's own claim in a resolved session (``STRANGLER_IDENTITY_CLAIMS``): the user's customer id."""

from __future__ import annotations

from typing import Any

from legacy_monolith.customers.models import Customer

__all__ = ["customer_claims"]


def customer_claims(user: Any) -> dict[str, Any]:
    """``{"customer_id": ...}``: the customer row of ``user``, or None for staff without one."""
    return {"customer_id": Customer.objects.filter(user=user).values_list("cust_id", flat=True).first()}
