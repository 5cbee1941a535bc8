"""Prometheus metrics of the messaging core, one registry per service instance
(so several services can live in one test process)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class ServiceMetrics:
    service: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        labels = {"service": self.service}
        r = self.registry
        self.outbox_published = Counter(
            "motcua_outbox_published_total",
            "Outbox rows published to Kafka",
            registry=r,
        )
        self.outbox_publish_failures = Counter(
            "motcua_outbox_publish_failures_total",
            "Outbox rows whose publication failed and will be retried",
            registry=r,
        )
        self.outbox_replayed = Counter(
            "motcua_outbox_replayed_total",
            "Published outbox rows put back to be published again because the "
            "broker had lost them (a new or shorter log, ADR 0008)",
            registry=r,
        )
        self.outbox_pending = Gauge(
            "motcua_outbox_pending", "Outbox rows not yet published", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "motcua_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest outbox row not yet published (0: none waiting); "
            "sampled every metrics_sample_interval_s",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "motcua_consumer_lag",
            "Records of a partition a consumer group has not committed yet "
            "(high watermark - committed offset), sampled from the broker",
            ["group", "topic", "partition"],
            registry=r,
        )
        self.sample_failures = Counter(
            "motcua_metrics_sample_failures_total",
            "Samples of the sampled gauges that failed (database or broker "
            "unreachable); the gauges keep their last value, lag is cleared",
            ["sample"],
            registry=r,
        )
        self.consumed = Counter(
            "motcua_consumed_records_total",
            "Records handled by a consumer, by outcome "
            "(applied, duplicate, unhandled, refused, dead_lettered)",
            ["consumer", "event_type", "outcome"],
            registry=r,
        )
        self.unhandled = Counter(
            "motcua_events_unhandled_total",
            "Records of a type the consumer does not act on, skipped unparsed "
            "(event_type: the type if motcua declares it, else `unregistered`)",
            ["consumer", "event_type"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "motcua_dead_lettered_total",
            "Records a consumer wrote to its dead-letter topic, by reason "
            "(malformed, handler_failed, or the code of a refusal)",
            ["consumer", "reason"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "motcua_consumer_batch_seconds",
            "Time to apply and commit one consumed batch",
            ["consumer"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.batch_failures = Counter(
            "motcua_consumer_batch_failures_total",
            "Batches rolled back and redelivered (database or broker unavailable)",
            ["consumer"],
            registry=r,
        )
        self.offset_gaps = Counter(
            "motcua_offset_gaps_total",
            "Holes in a partition's offsets a reader met: reread (sought back "
            "and read again) or skipped (still there after every reread)",
            ["reader", "outcome"],
            registry=r,
        )
        self.db_statements = Counter(
            "motcua_db_statements_total",
            "SQL statements sent to the service's database (an executemany "
            "counts once); the bench divides it by the dossiers it drove",
            registry=r,
        )
        self.info = Gauge(
            "motcua_service_info", "Service identity", ["service"], registry=r
        )
        self.info.labels(**labels).set(1)
