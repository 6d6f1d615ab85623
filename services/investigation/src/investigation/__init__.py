"""Investigation service."""
