"""The prosecution's adapters: the gRPC API."""
