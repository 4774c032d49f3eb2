-- Password reset tokens: opaque, 256 random bits, stored as SHA-256 hashes (like refresh
-- tokens), usable once before expires_at. Using one makes the account's others unusable.
CREATE TABLE password_resets (
    token_hash text        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Tokens issued to an account within the throttling window.
CREATE INDEX password_resets_by_user ON password_resets (user_id, created_at);

-- Reset requests per client (source address) within the throttling window, whether or
-- not the account asked for exists: the per-client limit says nothing about accounts.
CREATE TABLE password_reset_requests (
    client       text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_reset_requests_by_client ON password_reset_requests (client, requested_at);
CREATE INDEX password_reset_requests_by_time ON password_reset_requests (requested_at);
