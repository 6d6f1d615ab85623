"""One settings object per service process, from ``KETENZICHT_*`` environment variables.

Nested settings use a double underscore: ``KETENZICHT_STORE__BACKEND=postgres``,
``KETENZICHT_STORE__POSTGRES_DSN=postgresql://…``. Tests construct the object directly.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .grpc_server import TlsFiles
from .store import StoreSettings


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KETENZICHT_", env_nested_delimiter="__")

    grpc_address: str = "127.0.0.1:50051"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_seed_file: Path | None = None
    """``KETENZICHT_NATS_SEED_FILE``: the nkey seed of this service's identity on the bus
    (`bus_access`); the local profile makes it under ``var/``, production mounts it."""
    data_dir: Path = Path("var")
    identities_file: Path = Path("deploy/local/identities.toml")
    store: StoreSettings = Field(default_factory=StoreSettings)
    tls_certificate: Path | None = None
    tls_private_key: Path | None = None
    tls_client_ca: Path | None = None
    relay_enabled: bool = True
    stream_replicas: int = 1
    """JetStream replicas of the streams this service creates (3 on a three-node cluster)."""
    command_batch_size: int = 500
    progress_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long the relay may have events to publish, or a consumer fail on the same event,
    before health reports that part NOT_SERVING."""
    master_key_file: Path | None = None
    """``KETENZICHT_MASTER_KEY_FILE``: the controller's master key that wraps the per-subject
    keys sealing source identifiers (`subject_keys`). Unset (the local profile), the service
    makes one under ``data_dir/keys/``; production mounts it from its secret store, apart from
    the data."""
    clock_file: Path | None = None
    """``KETENZICHT_CLOCK_FILE``: the service reads the present from this file (a simulated run
    sets it, see clock.ScenarioClock) and the wall clock while the file is absent. Unset, as in
    production, the service runs on the wall clock alone."""

    instance: int = Field(default=1, ge=1)
    """``KETENZICHT_INSTANCE``: which instance of the service this process is (1, 2, …), set
    per host or by the supervisor (a systemd template's ``%i``). The writing services need it
    for nothing (they share the store and lease the relay); the monitor's replicas read through
    feeds of their own by it (docs/adr/0034)."""

    def tls(self) -> TlsFiles | None:
        if self.tls_certificate is None:
            return None
        if self.tls_private_key is None or self.tls_client_ca is None:
            raise ValueError("TLS needs a certificate, a private key and a client CA")
        return TlsFiles(self.tls_certificate, self.tls_private_key, self.tls_client_ca)
