"""The monitor's application layer: the live read model and the queries analysts ask of it."""
