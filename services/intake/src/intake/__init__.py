"""Intake: the victim's side of the case, from signal to report (police, KMar, Labour
Inspectorate)."""

SERVICE = "intake"
