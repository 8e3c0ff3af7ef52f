"""The catalog service: products, prices and stock, extracted from LegacyShop behind the strangler proxy."""
