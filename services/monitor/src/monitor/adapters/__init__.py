"""The monitor's adapters: NATS consumers, projection storage, gRPC and HTTP APIs, settings."""
