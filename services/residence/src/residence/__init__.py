"""Residence service."""
