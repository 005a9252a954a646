"""Protocols the domain talks through; adapters implement them."""
