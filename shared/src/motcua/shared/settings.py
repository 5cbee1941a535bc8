"""Settings read from the environment (pydantic-settings).

Each service has its own prefix (``MOTCUA_INTAKE_``, ``MOTCUA_ROUTING_`` …) for
what is its own; what every service shares lives in nested groups with their own
prefixes: ``MOTCUA_`` (data folder, logs, auth), ``KAFKA_`` (the broker) and
``OTEL_`` (tracing). Every field carries a description; ``motcua config`` prints
them all and ``docs/configuration.md`` is generated from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "motcua-development-only-secret-do-not-deploy"  # noqa: S105  (refused outside development)


class CommonSettings(BaseSettings):
    """What every service shares."""

    model_config = SettingsConfigDict(env_prefix="MOTCUA_", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        default="development",
        description="`production` refuses development secrets and SQLite-only "
        "shortcuts.",
    )
    data_dir: Path = Field(
        default=Path("var"),
        description="Folder for the embedded SQLite databases and local state.",
    )
    http_host: str = Field(
        default="127.0.0.1",
        description="HTTP bind address of every service without its own "
        "`MOTCUA_<SERVICE>_HTTP_HOST` (the service images set `0.0.0.0`).",
    )
    log_level: str = Field(default="INFO", description="Root log level.")
    log_json: bool = Field(
        default=True, description="JSON log lines (false: coloured console)."
    )
    jwt_secret: SecretStr = Field(
        default=SecretStr(DEV_JWT_SECRET),
        description="HS256 secret that signs officer and portal tokens; the same "
        "value in every service.",
    )
    jwt_issuer: str = Field(default="motcua", description="Expected `iss` claim.")
    personal_data_keys: SecretStr | None = Field(
        default=None,
        description="The personal-data key ring, a JSON Web Key Set of 256-bit "
        "symmetric keys `<service>-<n>` and `lookup-<n>` (ADR 0007; `motcua keys "
        "personal-data` makes one). Give each service only its own keys, intake "
        "all of them. Unset: `MOTCUA_PERSONAL_DATA_KEYS_FILE`, else (not in "
        "production) `keys/personal-data.jwks.json` in the data folder, created "
        "on first use.",
    )
    personal_data_keys_file: Path | None = Field(
        default=None,
        description="A file holding the personal-data key ring (instead of "
        "`MOTCUA_PERSONAL_DATA_KEYS`).",
    )
    trusted_proxies: str = Field(
        default="",
        description="Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` "
        "are believed (comma-separated addresses or networks, e.g. `10.0.0.5` or "
        "`10.0.0.0/24`). Empty: none, the client is the connection's peer, so no "
        "caller can pose as another address (the public lookup's limits count "
        "per address).",
    )

    @model_validator(mode="after")
    def _no_dev_secret_in_production(self) -> CommonSettings:
        if (
            self.environment == "production"
            and self.jwt_secret.get_secret_value() == DEV_JWT_SECRET
        ):
            msg = "MOTCUA_JWT_SECRET must be set in production"
            raise ValueError(msg)
        return self


class KafkaSettings(BaseSettings):
    """The broker: the local tansu by default, any Kafka cluster by URL."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        description="Comma-separated `host:port` list. Setting it points every "
        "service at that cluster instead of the local tansu broker.",
    )
    profile: Literal["tansu", "kafka"] | None = Field(
        default=None,
        description="Timing profile: `tansu` (short group sessions, short fetch "
        "waits) or `kafka` (values a real cluster accepts). Default: `kafka` when "
        "KAFKA_BOOTSTRAP_SERVERS is set, else `tansu`.",
    )
    partitions: int = Field(
        default=6, ge=1, description="Partitions of each topic created at startup."
    )
    replication_factor: int = Field(
        default=1, ge=1, description="Replication factor of created topics."
    )
    session_timeout_ms: int | None = Field(
        default=None, description="Overrides the profile's consumer session timeout."
    )
    heartbeat_interval_ms: int | None = Field(
        default=None, description="Overrides the profile's heartbeat interval."
    )
    fetch_max_wait_ms: int | None = Field(
        default=None, description="Overrides the profile's fetch wait."
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = (
        Field(default="PLAINTEXT", description="Security protocol of the cluster.")
    )
    sasl_mechanism: str | None = Field(
        default=None, description="`PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`."
    )
    sasl_username: str | None = Field(default=None, description="SASL user.")
    sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    ssl_cafile: str | None = Field(
        default=None,
        description="CA bundle to verify the brokers' TLS certificates (default: the "
        "system store).",
    )

    @model_validator(mode="after")
    def _default_profile(self) -> KafkaSettings:
        if self.profile is None:
            explicit = "bootstrap_servers" in self.model_fields_set
            self.profile = "kafka" if explicit else "tansu"
        return self


class SigningSettings(BaseSettings):
    """Agencies' signing keys and how events are checked (ADR 0012)."""

    model_config = SettingsConfigDict(env_prefix="MOTCUA_SIGNING_", extra="ignore")

    keystore: Path | None = Field(
        default=None,
        description="Folder of the keystore (jwks.json, private/). Unset: "
        "`<data folder>/keys`, created at first start in development and test; "
        "in production it must exist (mounted from a secret store, never the "
        "repository).",
    )
    accept_unsigned_legacy: bool = Field(
        default=True,
        description="Accept unsigned events as *unsigned legacy* when they are "
        "imported history or older than the keystore's `signing_since`, for "
        "dossiers with no signed event. Set false once old history is sealed "
        "(`motcua keys seal-legacy`).",
    )
    clock_tolerance_s: float = Field(
        default=300.0,
        ge=0,
        description="How far an event's `occurred_at` may lie outside its key's "
        "validity period (clock skew between producers).",
    )
    rotation_grace_s: float = Field(
        default=300.0,
        ge=0,
        description="After `motcua keys rotate`, how long the old key stays valid "
        "(processes reload the keystore within a second; this covers events "
        "already signed and in flight).",
    )
    checkpoint_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often reporting signs a checkpoint over the heads of the "
        "dossier chains changed since the last one.",
    )

    def folder(self, data_dir: Path) -> Path:
        return (self.keystore or data_dir / "keys").resolve()


class TelemetrySettings(BaseSettings):
    """OpenTelemetry export (standard OTEL_ variables)."""

    model_config = SettingsConfigDict(env_prefix="OTEL_", extra="ignore")

    exporter_otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector, e.g. `http://127.0.0.1:4318`; unset: "
        "spans are made (trace ids in logs and events) but not exported.",
    )


class ServiceSettings(BaseSettings):
    """Base of each service's settings; subclasses set the prefix and port."""

    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8000

    model_config = SettingsConfigDict(extra="ignore")

    http_host: str = Field(
        default="", description="HTTP bind address (empty: `MOTCUA_HTTP_HOST`)."
    )
    http_port: int = Field(default=0, description="HTTP port (0: the default).")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL, e.g. "
        "`postgresql+asyncpg://user@host/db`; unset: SQLite in the data folder.",
    )
    consumer_batch_size: int = Field(
        default=500, ge=1, description="Most records handled in one transaction."
    )
    consumer_max_attempts: int = Field(
        default=3,
        ge=1,
        description="Attempts at one record before it goes to the dead-letter topic.",
    )
    parked_ttl_s: float = Field(
        default=3600.0,
        gt=0,
        description="How long a consumer keeps an event that came before the "
        "dossier it is about (parked) before it dead-letters it with reason "
        "`parked_expired`.",
    )
    relay_batch_size: int = Field(
        default=500, ge=1, description="Most outbox rows published per round."
    )
    relay_poll_interval_s: float = Field(
        default=0.5,
        gt=0,
        description="How often the outbox relay looks for rows written by other "
        "processes (rows written here wake it at once).",
    )
    metrics_sample_interval_s: float = Field(
        default=15.0,
        gt=0,
        description="How often the gauges that need a query are refreshed: "
        "outbox backlog and age, consumer lag, and the service's own (waybill "
        "pool, overdue dossiers).",
    )
    migrate_on_start: bool = Field(
        default=True,
        description="Upgrade the database at start. `false` (Kubernetes, where a "
        "Job runs `motcua <service> migrate`): the service only checks that the "
        "database is at the revision it ships and refuses to start otherwise.",
    )
    relay_broker_check_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="How often the outbox relay checks that the broker still holds "
        "what it published (a new cluster id or a shorter log: it publishes the "
        "retained rows again, ADR 0008); also at every start.",
    )
    outbox_retention_h: float = Field(
        default=168.0,
        gt=0,
        description="How long published outbox rows are kept, to be published again "
        "if the broker loses its log (ADR 0008).",
    )
    common: CommonSettings = Field(default_factory=CommonSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    signing: SigningSettings = Field(default_factory=SigningSettings)

    @model_validator(mode="after")
    def _default_port(self) -> ServiceSettings:
        if self.http_port == 0:
            self.http_port = self.default_port
        if not self.http_host:
            self.http_host = self.common.http_host
        return self

    @model_validator(mode="after")
    def _real_database_in_production(self) -> ServiceSettings:
        if self.common.environment == "production" and not self.database_url:
            prefix = str(self.model_config.get("env_prefix", ""))
            msg = f"{prefix}DATABASE_URL must be set in production (SQLite is for development)"
            raise ValueError(msg)
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = (self.common.data_dir / f"{self.service_name}.db").resolve()
        return f"sqlite+aiosqlite:///{path}"


def describe_settings(model: type[BaseSettings]) -> list[dict[str, Any]]:
    """Every environment variable a settings class reads, with default and help."""
    rows: list[dict[str, Any]] = []
    prefix = model.model_config.get("env_prefix", "")
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            rows.extend(describe_settings(annotation))
            continue
        default = field.get_default(call_default_factory=True)
        if isinstance(default, SecretStr):
            default = "(secret)"
        rows.append(
            {
                "env": f"{prefix}{name}".upper(),
                "default": "" if default is None else str(default),
                "description": field.description or "",
            }
        )
    return rows
