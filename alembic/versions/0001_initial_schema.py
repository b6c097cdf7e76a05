"""Initial schema: every table of the platform.

The migration re-declares the column types it needs instead of importing the application's, so it
keeps working when the models change. On Postgres, `agent_events` and `trust_scores` become
TimescaleDB hypertables (with compression and retention policies, and an hourly continuous
aggregate of events) when the extension is available; otherwise they get BRIN indexes on time
and retention runs as a periodic worker job.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

# Portable types, re-declared here on purpose (see the module docstring).
TS = sa.DateTime(timezone=True)
JSON_T = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("agent_type", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("owner_team", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", JSON_T, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trust_score", sa.Double(), nullable=False),
        sa.Column("posture_score", sa.Double(), nullable=False),
        sa.Column("behavior_score", sa.Double(), nullable=False),
        sa.Column("recency", sa.Double(), nullable=False),
        sa.Column("insufficient_evidence", sa.Boolean(), nullable=False),
        sa.Column("last_scored_at", TS, nullable=True),
        sa.Column("last_event_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agents_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_agents_owner_team"), ["owner_team"], unique=False)
        batch_op.create_index(batch_op.f("ix_agents_status"), ["status"], unique=False)

    op.create_table(
        "agent_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("tool_name", sa.String(length=255), nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("clock_adjusted", sa.Boolean(), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("output_hash", sa.String(length=64), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("error_type", sa.String(length=255), nullable=True),
        sa.Column("input_bytes", sa.Integer(), nullable=True),
        sa.Column("output_bytes", sa.Integer(), nullable=True),
        sa.Column("target_hash", sa.String(length=64), nullable=True),
        sa.Column("tool_definition_hash", sa.String(length=64), nullable=True),
        sa.Column("tags", JSON_T, nullable=True),
        sa.Column("metrics", JSON_T, nullable=True),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.Column("span_id", sa.String(length=32), nullable=True),
        sa.Column("parent_event_id", sa.Uuid(), nullable=True),
        sa.Column("anomaly_score", sa.Double(), nullable=True),
        sa.Column("reasons", JSON_T, nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_events_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_events")),
    )
    with op.batch_alter_table("agent_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agent_events_agent_id_tool_name_ts"),
            ["agent_id", "tool_name", "ts"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_agent_events_agent_id_ts"), ["agent_id", "ts"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_agent_events_ts_id"), ["ts", "id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("destination", sa.String(length=2048), nullable=False),
        sa.Column("dedup_key", sa.String(length=128), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("payload", JSON_T, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_alerts_agent_id_agents"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint(
            "channel",
            "destination",
            "dedup_key",
            name=op.f("uq_alerts_channel_destination_dedup_key"),
        ),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alerts_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_api_keys_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_keys_scope_is_active"), ["scope", "is_active"], unique=False
        )

    op.create_table(
        "baselines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_key", sa.String(length=255), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("state_version", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("last_stream_id", sa.String(length=64), nullable=True),
        sa.Column("last_event_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_baselines_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_baselines")),
        sa.UniqueConstraint("scope", "scope_key", name=op.f("uq_baselines_scope_scope_key")),
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("finding_type", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("remediation", sa.Text(), nullable=True),
        sa.Column("evidence", JSON_T, nullable=False),
        sa.Column("tags", JSON_T, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_by", sa.String(length=255), nullable=True),
        sa.Column("suppressed_until", TS, nullable=True),
        sa.Column("history", JSON_T, nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("resolved_by", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_findings_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_findings_fingerprint")),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_findings_agent_id_status"), ["agent_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_findings_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_findings_status_severity"), ["status", "severity"], unique=False
        )

    op.create_table(
        "mcp_connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("server_name", sa.String(length=255), nullable=False),
        sa.Column("server_url", sa.String(length=2048), nullable=False),
        sa.Column("capabilities", JSON_T, nullable=True),
        sa.Column("auth", sa.String(length=16), nullable=False),
        sa.Column("tools", JSON_T, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_mcp_connections_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mcp_connections")),
        sa.UniqueConstraint(
            "agent_id", "server_name", name=op.f("uq_mcp_connections_agent_id_server_name")
        ),
    )
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("tool_name", sa.String(length=255), nullable=True),
        sa.Column("path_glob", sa.String(length=1024), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_suppressions_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
    )
    op.create_table(
        "tool_grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("tool_name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("input_schema", JSON_T, nullable=True),
        sa.Column("annotations", JSON_T, nullable=True),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("capabilities", JSON_T, nullable=False),
        sa.Column("is_dangerous", sa.Boolean(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("evidence", JSON_T, nullable=False),
        sa.Column("override", JSON_T, nullable=True),
        sa.Column("rate_limit_per_hour", sa.Integer(), nullable=True),
        sa.Column("definition_hash", sa.String(length=64), nullable=True),
        sa.Column("last_called_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_tool_grants_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_grants")),
        sa.UniqueConstraint(
            "agent_id", "tool_name", name=op.f("uq_tool_grants_agent_id_tool_name")
        ),
    )
    op.create_table(
        "trust_scores",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("trust_score", sa.Double(), nullable=False),
        sa.Column("posture_score", sa.Double(), nullable=False),
        sa.Column("behavior_score", sa.Double(), nullable=False),
        sa.Column("recency", sa.Double(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("breakdown", JSON_T, nullable=False),
        sa.Column("reasons", JSON_T, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_trust_scores_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_scores")),
    )
    with op.batch_alter_table("trust_scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trust_scores_agent_id_ts"), ["agent_id", "ts"], unique=False
        )

    op.create_table(
        "login_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_login_tokens_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_tokens_token_hash")),
    )

    if op.get_bind().dialect.name == "postgresql":
        _time_partitioning()


def _timescale_available() -> bool:
    bind = op.get_bind()
    return bool(
        bind.execute(
            sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        ).scalar()
    )


def _time_partitioning() -> None:
    """Hypertables when TimescaleDB is available, else plain tables with BRIN time indexes."""
    if not _timescale_available():
        # Events arrive roughly in time order, so a BRIN index stays tiny and prunes time ranges.
        op.execute("CREATE INDEX ix_agent_events_ts_brin ON agent_events USING brin (ts)")
        op.execute("CREATE INDEX ix_trust_scores_ts_brin ON trust_scores USING brin (ts)")
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    # A hypertable's unique constraints must include its time column.
    for table in ("agent_events", "trust_scores"):
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id, ts)")
        op.execute(
            f"SELECT create_hypertable('{table}', 'ts', "
            "chunk_time_interval => INTERVAL '1 day', migrate_data => true)"
        )
    op.execute(
        "ALTER TABLE agent_events SET (timescaledb.compress, "
        "timescaledb.compress_segmentby = 'agent_id', timescaledb.compress_orderby = 'ts DESC')"
    )
    op.execute("SELECT add_compression_policy('agent_events', INTERVAL '7 days')")
    op.execute("SELECT add_retention_policy('agent_events', INTERVAL '90 days')")
    op.execute("SELECT add_retention_policy('trust_scores', INTERVAL '365 days')")
    # Continuous aggregates cannot be created inside a transaction.
    with op.get_context().autocommit_block():
        op.execute(
            "CREATE MATERIALIZED VIEW agent_events_hourly WITH (timescaledb.continuous) AS "
            "SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, agent_id, tool_name, "
            "count(*) AS calls, max(anomaly_score) AS max_anomaly, "
            "avg(duration_ms) AS avg_duration_ms "
            "FROM agent_events GROUP BY 1, 2, 3 WITH NO DATA"
        )
        op.execute(
            "SELECT add_continuous_aggregate_policy('agent_events_hourly', "
            "start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 hour', "
            "schedule_interval => INTERVAL '30 minutes')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP MATERIALIZED VIEW IF EXISTS agent_events_hourly")
    op.drop_table("login_tokens")
    with op.batch_alter_table("trust_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trust_scores_agent_id_ts"))

    op.drop_table("trust_scores")
    op.drop_table("tool_grants")
    op.drop_table("suppressions")
    op.drop_table("mcp_connections")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_findings_status_severity"))
        batch_op.drop_index(batch_op.f("ix_findings_created_at"))
        batch_op.drop_index(batch_op.f("ix_findings_agent_id_status"))

    op.drop_table("findings")
    op.drop_table("baselines")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_scope_is_active"))

    op.drop_table("api_keys")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_status_next_attempt_at"))

    op.drop_table("alerts")
    with op.batch_alter_table("agent_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_events_ts_id"))
        batch_op.drop_index(batch_op.f("ix_agent_events_agent_id_ts"))
        batch_op.drop_index(batch_op.f("ix_agent_events_agent_id_tool_name_ts"))

    op.drop_table("agent_events")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agents_status"))
        batch_op.drop_index(batch_op.f("ix_agents_owner_team"))
        batch_op.drop_index(batch_op.f("ix_agents_created_at"))

    op.drop_table("agents")
