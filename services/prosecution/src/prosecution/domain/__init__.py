"""The prosecution's domain: aggregates and their events, without any I/O."""
