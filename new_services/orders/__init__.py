"""The orders service: order history and checkout (a saga over stock) on its own database."""
