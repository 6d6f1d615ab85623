"""The investigation's domain: aggregates and their events, without any I/O."""
