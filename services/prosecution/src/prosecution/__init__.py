"""Prosecution: the OM's part of a case, from registration to the final verdict, and the court
outcomes as the OM registers them."""

SERVICE = "prosecution"
