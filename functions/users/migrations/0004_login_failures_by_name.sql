-- Failed logins are counted per login name (the username or email as typed, lower-cased),
-- whether or not an account has that name: a lockout that only existing accounts could
-- reach would tell who has an account. Counters of the old shape (per account) are
-- dropped; at worst an attacker gets one fresh window.
DROP TABLE login_failures;
CREATE TABLE login_failures (
    login             text        PRIMARY KEY,
    failures          integer     NOT NULL,
    window_started_at timestamptz NOT NULL
);
-- Names come from callers: every failed login sweeps a batch of long-ended windows.
CREATE INDEX login_failures_window ON login_failures (window_started_at);
