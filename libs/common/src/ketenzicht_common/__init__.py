"""Plumbing every ketenzicht service shares, written once."""
