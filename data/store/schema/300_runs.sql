-- Training runs: what was launched (recipe snapshot, seed, gate decision, reward versions,
-- commit, who), where it stands, its metrics every logging step, its checkpoints with their
-- evaluation scores, and what happened to it (exclusions, skipped gate, cancel, resume).
-- Runs launched with several seeds wait as 'queued' rows: the queue lives here, so it
-- survives an app or machine restart.

CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,                      -- recipe name + seed, for people
  launch_id TEXT NOT NULL,                 -- the runs of one launch (one per seed) share it
  recipe_name TEXT NOT NULL,
  recipe TEXT NOT NULL,                    -- JSON snapshot after overrides and exclusions
  recipe_fingerprint TEXT NOT NULL,
  seed INTEGER NOT NULL,
  tasks TEXT NOT NULL,                     -- JSON list: the mix actually trained on
  excluded_tasks TEXT NOT NULL DEFAULT '[]',
  gate_decision_id INTEGER,                -- NULL only when the gate was skipped
  gate_skipped INTEGER NOT NULL DEFAULT 0,
  reward_versions TEXT NOT NULL,           -- JSON task -> reward version at launch
  git_commit TEXT,
  created_by TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'starting', 'running', 'finished', 'failed', 'cancelled')),
  queue_position INTEGER,                  -- order in the seed queue while 'queued'
  run_dir TEXT UNIQUE,
  job_id INTEGER,
  pid INTEGER,
  host TEXT,
  max_steps INTEGER NOT NULL,
  step INTEGER NOT NULL DEFAULT 0,
  best_step INTEGER,
  best_score REAL,
  stop_reason TEXT,                        -- max_steps | early_stopping | cancelled | the error
  resumes INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  heartbeat_at TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX idx_runs_status ON runs(status, queue_position);
-- One active training run at a time, enforced by the database itself: two browsers or a
-- double click cannot both insert/promote a run into these states.
CREATE UNIQUE INDEX idx_runs_one_active ON runs((1)) WHERE status IN ('starting', 'running');

CREATE TABLE run_metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('train', 'eval')),
  step INTEGER NOT NULL,
  metrics TEXT NOT NULL,                   -- JSON: flat metric name -> number
  created_at TEXT NOT NULL,
  PRIMARY KEY (run_id, kind, step)          -- a resumed run re-logging a step replaces it
);

CREATE TABLE run_checkpoints (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  step INTEGER NOT NULL,
  eval_score REAL,
  is_best INTEGER NOT NULL DEFAULT 0,      -- 1 for the best_checkpoint/ folder
  created_at TEXT NOT NULL,
  PRIMARY KEY (run_id, path)
);

CREATE TABLE run_events (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  event TEXT NOT NULL,                     -- launched, excluded_tasks, gate_skipped, started, cancelled, ...
  detail TEXT NOT NULL DEFAULT '{}',
  actor TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX idx_run_events_run ON run_events(run_id, id);
