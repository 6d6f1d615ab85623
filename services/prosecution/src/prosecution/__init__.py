"""Prosecution service."""
