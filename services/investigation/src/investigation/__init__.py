"""Investigation: the police's investigation of a case (opsporing), from opening to the
submission to the OM (police, KMar, Labour Inspectorate)."""

SERVICE = "investigation"
