-- Users, their refresh-token families and failed-login counters.

CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text        NOT NULL,
    email         text        NOT NULL,
    password_hash text        NOT NULL,
    first_name    text,
    last_name     text,
    bio           text        NOT NULL DEFAULT '',
    role          text        NOT NULL DEFAULT 'user'
                              CHECK (role IN ('user', 'moderator', 'admin')),
    is_active     boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Unique case-insensitively, enforced here so concurrent registrations cannot both win.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
-- Keyset pagination of the admin list.
CREATE INDEX users_created_at_id ON users (created_at, id);

-- Opaque refresh tokens, stored as SHA-256 hashes. Every rotation stays in the family of
-- the login that started it, so a reused token can revoke the whole family.
CREATE TABLE refresh_tokens (
    token_hash text        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  uuid        NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_live_by_user ON refresh_tokens (user_id) WHERE revoked_at IS NULL;

-- Failed logins per account within the current window (credential-guessing brake).
CREATE TABLE login_failures (
    user_id           uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    failures          integer     NOT NULL,
    window_started_at timestamptz NOT NULL
);
