"""Customers: the shop profile kept beside Django's auth user (tbl_customer)."""
