-- The account audit trail, kept by the users-audit consumer from the users events.
CREATE TABLE audit_log (
    event_id       uuid        PRIMARY KEY,
    user_id        uuid        NOT NULL,
    detail_type    text        NOT NULL,
    data           jsonb       NOT NULL,
    correlation_id text,
    occurred_at    timestamptz NOT NULL
);
CREATE INDEX audit_log_user ON audit_log (user_id, occurred_at DESC, event_id DESC);
