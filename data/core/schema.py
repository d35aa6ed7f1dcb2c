"""The data model (SQLAlchemy 2.0, typed), identical on SQLite and PostgreSQL.

Times are ``UTCDateTime``: aware datetimes in, stored as UTC, aware UTC datetimes out. Categorical
columns are checked against ``data.core.vocab`` by CHECK constraints, so bad values fail at the database too.
Documented column by column in docs/schema.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates
from sqlalchemy.types import TypeDecorator
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

from data.core import vocab

# The head revision of data/core/migrations, recorded in meta.schema_version (tests/test_migrations.py checks that
# they agree): a change to the tables below needs a new revision there (docs/schema.md, Migrations).
SCHEMA_VERSION = "0012_network_teams"


class UTCDateTime(TypeDecorator):
    """A timestamp that must be timezone-aware on the way in and is UTC-aware on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: times must carry a zone")
        value = value.astimezone(UTC)
        # SQLite stores text; keep it naive UTC so that string comparison orders correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class InvalidCreditCode(ValueError):
    """A unified social credit code that is malformed or fails its check digit."""


def validate_credit_code(value: str) -> str:
    """The code in canonical form (upper case, no spaces) if it is a valid GB 32100 code, else raise."""
    try:
        return uscc.validate(value)
    except InvalidChecksum:
        raise InvalidCreditCode(f"credit code {value!r}: check digit does not match") from None
    except (InvalidLength, InvalidFormat, InvalidComponent) as exc:
        raise InvalidCreditCode(f"credit code {value!r}: {exc.message}") from None


def _in(column: str, values) -> str:
    quoted = ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


EVENT_KINDS = ("incidents", "disputes", "hazards")  # data.intake.importer: added, never changed by a re-import
# data.intake.registry: matched on their key, updated; in the order a bureau imports them (docs/onboarding.md)
REFERENCE_KINDS = ("sectors", "network_classes", "parks", "enterprises", "teams")
IMPORT_KINDS = EVENT_KINDS + REFERENCE_KINDS
QUARANTINE_STATUSES = ("open", "resolved", "discarded")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, Decimal: Numeric(14, 2), str: String(200)}


class Meta(Base):
    """Key/value facts about this database: schema version, demo seed and scale, programme start."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Station(Base):
    """A police station (派出所) and its jurisdiction polygon."""

    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    polygon_geojson: Mapped[str] = mapped_column(Text, doc="GeoJSON Polygon/MultiPolygon, [lon, lat]")
    centre_lat: Mapped[float] = mapped_column(Float)
    centre_lon: Mapped[float] = mapped_column(Float)


class Sector(Base):
    """A sector (行业) of the bureau's own: the enterprises' sector and the safety index's peer groups.

    Data, not code: imported (data/intake/registry.py) and edited by the bureau. ``industry_codes`` lists the
    GB/T 4754 codes the sector covers (``C18, C1820``): a registry's industry code is mapped to the sector whose
    code is its longest prefix (data/intake/industry.py)."""

    __tablename__ = "sectors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(16), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(40))
    industry_codes: Mapped[str | None] = mapped_column(String(400), doc="GB/T 4754 codes, comma-separated")
    position: Mapped[int | None] = mapped_column(Integer, doc="order in lists (then by name)")


class Park(Base):
    """An industrial park (园区) inside one station's area."""

    __tablename__ = "parks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(32), doc="the bureau's code; the import's key")
    name: Mapped[str] = mapped_column(String(64), unique=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    polygon_geojson: Mapped[str | None] = mapped_column(Text, doc="its outline, GeoJSON [lon, lat], or NULL")

    __table_args__ = (Index("uq_park_code", "code", unique=True),)


class Enterprise(Base):
    """An enterprise or network unit: identity, size, place and network class.

    From a registry import (data/intake/registry.py) it carries the registry (``source``) and its own id there
    (``source_id``); a credit code may be missing (a registry keyed by its own ids). ``values_since`` is the day
    its head count, sector, park and station took the values they have; the earlier ones are in
    ``enterprise_history``. ``closed_on``: a full snapshot of its registry no longer held it (never deleted)."""

    __tablename__ = "enterprises"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True, doc="统一社会信用代码, GB 32100")
    sector: Mapped[str] = mapped_column(String(16))
    industry_code: Mapped[str | None] = mapped_column(String(8), doc="GB/T 4754 code as the registry gave it")
    workers: Mapped[int | None] = mapped_column(Integer, doc="NULL when not recorded")
    park_id: Mapped[int | None] = mapped_column(ForeignKey("parks.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(120))
    network_unit_class: Mapped[str | None] = mapped_column(String(16), doc="its class in the network of units, or NULL")
    registered_on: Mapped[date | None] = mapped_column(Date)
    deregistered_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date, doc="the full snapshot that no longer held it")
    values_since: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(32), doc="the registry it was imported from")
    source_id: Mapped[str | None] = mapped_column(String(64), doc="its own id in that registry")
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    import_id: Mapped[int | None] = mapped_column(Integer, doc="imports.id of the import that last changed it")
    import_flags: Mapped[str | None] = mapped_column(String(64), doc="credit_code_check_digit, point_from_park, ...")

    @validates("credit_code")
    def _check_credit_code(self, _key, value: str | None) -> str | None:
        return None if value is None else validate_credit_code(value)

    __table_args__ = (
        CheckConstraint("length(credit_code) = 18", name="ck_enterprise_credit_code_len"),
        CheckConstraint("workers IS NULL OR workers >= 0", name="ck_enterprise_workers"),
        Index("uq_enterprise_source", "source", "source_id", unique=True),
    )  # network_unit_class: one of network_classes.name (checked by the import; the classes are the bureau's)


class EnterpriseHistory(Base):
    """The values an enterprise's head count, sector, park and station held, from ``valid_from`` (NULL: since it
    was first stored) to the day before ``valid_to``, kept when a registry snapshot changed them."""

    __tablename__ = "enterprise_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    workers: Mapped[int | None] = mapped_column(Integer)
    sector: Mapped[str] = mapped_column(String(16))
    park_id: Mapped[int | None] = mapped_column(Integer)
    station_id: Mapped[int] = mapped_column(Integer)
    import_id: Mapped[int | None] = mapped_column(Integer, doc="the import that changed them")

    __table_args__ = (Index("ix_enterprise_history_enterprise", "enterprise_id", "valid_to"),)


class NetworkClass(Base):
    """A class of the bureau's network of units (网格单位类别: 小区物业, 加油站, ...): data, imported and edited by
    the bureau (the network's own name is an organisation setting)."""

    __tablename__ = "network_classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(16), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(40))
    position: Mapped[int | None] = mapped_column(Integer, doc="order in lists (then by name)")


class Team(Base):
    """A self-governance team (自治队伍) an enterprise has set up, since when, and until when."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    team_type: Mapped[str] = mapped_column(String(16))
    established_on: Mapped[date] = mapped_column(Date)
    dissolved_on: Mapped[date | None] = mapped_column(Date, doc="NULL while it exists")
    members: Mapped[int] = mapped_column(Integer, default=0)
    import_id: Mapped[int | None] = mapped_column(Integer, doc="imports.id of the import that last changed it")

    __table_args__ = (
        UniqueConstraint("enterprise_id", "team_type", name="uq_team_enterprise_type"),
        CheckConstraint(_in("team_type", vocab.TEAM_TYPES), name="ck_team_type"),
    )


class ImportRun(Base):
    """One file imported by ``data.intake`` (CLI or upload page): what, from where, by whom, how it went.

    Written in the import's own transaction, so a failed import leaves no row here either; an import that
    changed nothing (every row already stored or already quarantined) leaves none.
    """

    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), doc="of the file's bytes")
    mapping_json: Mapped[str] = mapped_column(Text, doc="the mapping used, as JSON (quarantine resubmission uses it)")
    encoding: Mapped[str | None] = mapped_column(String(32))
    imported_by: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0, doc="rows already stored (same source id)")
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint(_in("kind", IMPORT_KINDS), name="ck_import_kind"),
        Index("ix_import_kind_source", "kind", "source"),
    )


class QuarantineRow(Base):
    """A rejected import row, kept as read (raw values) with the reasons, until an admin fixes it.

    ``fingerprint`` identifies the row as it came in (kind, source, raw values), so importing the same
    file again adds nothing here; an admin's edits change ``raw_json`` but not the fingerprint.
    """

    __tablename__ = "import_quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(64))
    line: Mapped[int] = mapped_column(Integer, doc="line (CSV) or row (XLSX) number in the file")
    fingerprint: Mapped[str] = mapped_column(String(40))
    raw_json: Mapped[str] = mapped_column(Text, doc="JSON object: column name -> value as read (text, never a cell)")
    reasons_json: Mapped[str] = mapped_column(Text, doc="JSON list of the reasons of the last validation")
    status: Mapped[str] = mapped_column(String(12), default="open")
    row_id: Mapped[int | None] = mapped_column(Integer, doc="id of the stored row once resubmitted")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("kind", "source", "fingerprint", name="uq_quarantine_fingerprint"),
        CheckConstraint(_in("kind", IMPORT_KINDS), name="ck_quarantine_kind"),
        CheckConstraint(_in("status", QUARANTINE_STATUSES), name="ck_quarantine_status"),
        Index("ix_quarantine_status_kind", "status", "kind"),
        Index("ix_quarantine_source_id", "kind", "source", "source_id"),
    )


class _SourceMixin:
    """Where a record came from: ``source`` names the system, ``source_id`` is its own id there.

    Imported rows also carry the import that wrote them and its flags (``out_of_area``: coordinates
    outside the jurisdiction; ``formula``: a text cell that would run as a spreadsheet formula was
    neutralised), comma-separated; NULL for rows written by this system.
    """

    source: Mapped[str] = mapped_column(String(32), default=vocab.SOURCES_LOCAL)
    source_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(doc="when this system stored the row")
    # Not a declared foreign key: the check would cost a lookup per row of a million-row import, and
    # imports rows are never deleted.
    import_id: Mapped[int | None] = mapped_column(Integer, doc="imports.id of the import that wrote the row")
    import_flags: Mapped[str | None] = mapped_column(String(64))


class Incident(_SourceMixin, Base):
    """A police incident (警情) as received by the command centre."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime]
    category: Mapped[str] = mapped_column(String(16))
    subcategory: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(SmallInteger)
    enterprise_related: Mapped[bool] = mapped_column(Boolean)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("parks.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(200), doc="personal data: exact address")
    caller_name: Mapped[str | None] = mapped_column(String(64), doc="personal data")
    caller_phone: Mapped[str | None] = mapped_column(String(32), doc="personal data")
    summary: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))
    disposition: Mapped[str | None] = mapped_column(String(16))
    dispatched_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    loss_amount: Mapped[Decimal | None]
    recovered_amount: Mapped[Decimal | None]

    __table_args__ = (
        CheckConstraint(_in("category", vocab.INCIDENT_CATEGORIES), name="ck_incident_category"),
        CheckConstraint(_in("priority", vocab.PRIORITIES), name="ck_incident_priority"),
        CheckConstraint(_in("channel", vocab.CHANNELS), name="ck_incident_channel"),
        CheckConstraint(
            "disposition IS NULL OR " + _in("disposition", vocab.DISPOSITIONS), name="ck_incident_disposition"
        ),
        UniqueConstraint("source", "source_id", name="uq_incident_source"),
        Index("ix_incident_received", "received_at"),
        Index("ix_incident_station_received", "station_id", "received_at"),
        # The enterprise's incidents by time, carrying park and category: a park's enterprise ranking (review)
        # is answered from this index alone, without visiting the table's rows (PostgreSQL: once vacuumed).
        Index("ix_incident_enterprise_covering", "enterprise_id", "received_at", "park_id", "category"),
        Index("ix_incident_category_received", "category", "received_at"),
    )


class Dispute(_SourceMixin, Base):
    """A dispute (矛盾纠纷) and how far up it had to go to be settled."""

    __tablename__ = "disputes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reported_at: Mapped[datetime]
    dispute_type: Mapped[str] = mapped_column(String(16))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("parks.id"))
    parties: Mapped[str | None] = mapped_column(String(200), doc="personal data: the parties' names")
    party_count: Mapped[int] = mapped_column(Integer, default=2)
    amount: Mapped[Decimal | None]
    settled_level: Mapped[str | None] = mapped_column(String(16))
    mediator: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    settled_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_in("dispute_type", vocab.DISPUTE_TYPES), name="ck_dispute_type"),
        CheckConstraint(
            "settled_level IS NULL OR " + _in("settled_level", vocab.SETTLED_LEVELS), name="ck_dispute_level"
        ),
        CheckConstraint(_in("status", vocab.DISPUTE_STATUSES), name="ck_dispute_status"),
        UniqueConstraint("source", "source_id", name="uq_dispute_source"),
        Index("ix_dispute_reported", "reported_at"),
        Index("ix_dispute_station_reported", "station_id", "reported_at"),
        Index("ix_dispute_enterprise_reported", "enterprise_id", "reported_at"),
        Index("ix_dispute_type_reported", "dispute_type", "reported_at"),
    )


class Hazard(_SourceMixin, Base):
    """A safety hazard (安全隐患) found at an enterprise, its deadline and its rectification."""

    __tablename__ = "hazards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    found_at: Mapped[datetime]
    hazard_type: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("parks.id"))
    description: Mapped[str | None] = mapped_column(String(200))
    deadline: Mapped[date] = mapped_column(Date, doc="Shanghai date by which it must be rectified")
    rectified_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(8))

    __table_args__ = (
        CheckConstraint(_in("severity", vocab.HAZARD_SEVERITIES), name="ck_hazard_severity"),
        CheckConstraint(_in("status", vocab.HAZARD_STATUSES), name="ck_hazard_status"),
        CheckConstraint(
            "(status = '已整改') = (rectified_at IS NOT NULL)", name="ck_hazard_status_matches_rectified"
        ),
        UniqueConstraint("source", "source_id", name="uq_hazard_source"),
        Index("ix_hazard_found", "found_at"),
        Index("ix_hazard_station_found", "station_id", "found_at"),
        Index("ix_hazard_enterprise_found", "enterprise_id", "found_at"),
        Index("ix_hazard_open", "status", "deadline"),
        Index("ix_hazard_rectified", "rectified_at"),
    )


class User(Base):
    """A person who logs in with a password; ``role`` decides what they may see (data/access/roles.py)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", vocab.USER_ROLES), name="ck_users_role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class DeviceToken(Base):
    """A long-lived login for a wall screen: only the SHA-256 of the token is stored."""

    __tablename__ = "device_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who did what, when, from where: logins, token use, exports, views of unmasked personal data."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"), Index("ix_audit_log_actor_at", "actor", "at"),
                      Index("ix_audit_log_ip_at", "ip", "at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16), default="")
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(64), default="")


class EndedSession(Base):
    """A session that logged out: a copy of its cookie is refused, on every worker, until the cookie has expired."""

    __tablename__ = "ended_sessions"
    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    ended_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class DemoPending(Base):
    """Demo only: a value the simulator writes when its time comes (an arrival, a settlement, a fix)."""

    __tablename__ = "demo_pending"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(index=True)
    values_json: Mapped[str] = mapped_column(Text)


safety_index_table = Table(
    "safety_index", Base.metadata,
    Column("month", Date, primary_key=True),
    Column("enterprise_id", Integer, primary_key=True),
    Column("score", Float, nullable=False),
    Column("band", String(4), nullable=False),
    *(Column(p, Float, nullable=False) for p in ("incidents", "disputes", "hazards", "governance")),
    Index("ix_safety_index_month_score", "month", "score"),
)
safety_index_unit_table = Table(
    "safety_index_units", Base.metadata,
    Column("month", Date, primary_key=True),
    Column("unit_kind", String(16), primary_key=True),
    Column("unit_id", Integer, primary_key=True),  # 0 for the town
    Column("score", Float, nullable=False),
    Column("band", String(4), nullable=False),
    Column("enterprises", Integer, nullable=False),
    Column("workers", Float, nullable=False),
)

EVENT_TABLES = (Incident.__table__, Dispute.__table__, Hazard.__table__)
