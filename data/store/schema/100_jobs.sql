-- Jobs: long work (sampling, training, comparison) run as a detached `tucano-audit` process.
-- The starter records the row and the pid; the job process records its progress and, when it
-- ends, its own status and exit code; reconcile marks rows whose process vanished.

CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,                      -- 'sample' | 'train' | 'compare' | ...
  argv TEXT NOT NULL,                      -- JSON list: the tucano-audit arguments
  meta TEXT NOT NULL DEFAULT '{}',         -- JSON: what the starter wants to find again (model, tasks...)
  status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled', 'lost')),
  created_by TEXT NOT NULL,
  pid INTEGER,                             -- also the process group id (the job leads its own group)
  pid_start TEXT,                          -- the process's start time, to tell a reused pid apart
  log_path TEXT,
  exit_code INTEGER,
  error TEXT,
  done INTEGER NOT NULL DEFAULT 0,
  total INTEGER,
  message TEXT NOT NULL DEFAULT '',
  progress TEXT NOT NULL DEFAULT '{}',     -- JSON: extra progress figures (tokens_per_s, eta_s, batch_id...)
  created_at TEXT NOT NULL,
  started_at TEXT,
  updated_at TEXT NOT NULL,
  finished_at TEXT,
  cancel_requested_by TEXT
);
CREATE INDEX idx_jobs_status ON jobs(status);
CREATE INDEX idx_jobs_kind ON jobs(kind, created_at);
