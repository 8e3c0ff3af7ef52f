"""new_services."""
