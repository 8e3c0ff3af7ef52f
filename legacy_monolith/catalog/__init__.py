"""Catalog: categories and products (tbl_category, tbl_product)."""
