"""KPI events carried by OTLP log records (``event.name`` = ``kpi.<name>``).

At the request: records that break the KPI contract are dropped and reported in
``partial_success``. At the insert: the events of the stored records, for
``business_events``. Attribute values of sensitive keys are redacted before either.
"""

from __future__ import annotations

from typing import Any

from collectors import otlp
from collectors.limits import Refusals
from collectors.redaction import Redactor
from collectors.rows import event_name
from models.errors import KpiContractError
from models.kpi import KpiEvent, is_kpi_event_name, kpi_event_from_log

__all__ = ["KPI_CONTRACT", "KpiLogs"]

KPI_CONTRACT = "kpi_contract"


class KpiLogs:
    """Finds the KPI events of log requests; ``tenant_from_resource``: ingest tokens are on,
    so the stamped resource ``tenant.id`` is the events' tenant."""

    def __init__(self, redactor: Redactor, *, tenant_from_resource: bool) -> None:
        self.redactor = redactor
        self.tenant_from_resource = tenant_from_resource

    def _events(self, message: Any, *, drop_invalid: bool) -> tuple[list[KpiEvent], Refusals]:
        events: list[KpiEvent] = []
        refusals = Refusals()
        for rl in message.resource_logs:
            tenant = None
            if self.tenant_from_resource:
                tenant = next(
                    (
                        kv.value.string_value
                        for kv in rl.resource.attributes
                        if kv.key == otlp.TENANT_KEY
                    ),
                    None,
                )
            for sl in rl.scope_logs:
                keep = []
                for record in sl.log_records:
                    name = event_name(record)
                    if not is_kpi_event_name(name):
                        keep.append(record)
                        continue
                    attributes = self.redactor.log_attributes(record.attributes)
                    try:
                        events.append(
                            kpi_event_from_log(
                                name,
                                attributes,
                                timestamp_ns=record.time_unix_nano
                                or record.observed_time_unix_nano,
                                trace_id=record.trace_id.hex(),
                                tenant=tenant,
                            )
                        )
                        keep.append(record)
                    except KpiContractError as exc:
                        event_id = attributes.get("event.id", "")
                        refusals.add(KPI_CONTRACT, f"{name} (event.id {event_id!r}): {exc}")
                if drop_invalid and len(keep) != len(sl.log_records):
                    del sl.log_records[:]
                    sl.log_records.extend(keep)
        return events, refusals

    def drop_bad_records(self, message: Any) -> Refusals:
        """Remove the KPI records that break the contract; say which and why."""
        return self._events(message, drop_invalid=True)[1]

    def stored_events(self, message: Any) -> list[KpiEvent]:
        """The KPI events of a stored log request."""
        return self._events(message, drop_invalid=False)[0]
