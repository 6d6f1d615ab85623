"""The investigation's adapters: the gRPC API."""
