-- Browser sessions and log-in throttling (data/store/sessions.py).
-- A session row is what a signed, expiring cookie points to: the cookie carries a random
-- token, the row only its SHA-256, so reading this table does not give a working cookie.

CREATE TABLE sessions (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  role TEXT NOT NULL,               -- the role at log-in: another role since then ends the session
  client TEXT,                      -- the browser's address, for the record
  token_hash TEXT UNIQUE,           -- set when the cookie is issued
  handoff_hash TEXT UNIQUE,         -- one-time code that turns into the cookie
  handoff_until REAL,               -- unix time
  created_at TEXT NOT NULL,
  expires_at REAL NOT NULL,         -- unix time
  ended_at TEXT,
  ended_reason TEXT
);
CREATE INDEX idx_sessions_user ON sessions(user_id);

-- Failed (and in-flight) log-ins, per username and per client, for the back-off delay.
CREATE TABLE login_failures (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL,
  client TEXT NOT NULL,
  at REAL NOT NULL
);
CREATE INDEX idx_login_failures_username ON login_failures(username, at);
CREATE INDEX idx_login_failures_client ON login_failures(client, at);

-- The key that signs session cookies: made once per store, so every app server on this
-- store accepts the same cookies.
CREATE TABLE session_key (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  secret TEXT NOT NULL,
  created_at TEXT NOT NULL
);
INSERT INTO session_key (id, secret, created_at)
  VALUES (1, lower(hex(randomblob(32))), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
