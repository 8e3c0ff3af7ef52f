"""Orders: the session cart, checkout and order history (tbl_order, tbl_order_line)."""
