-- The audit: gate thresholds (every admin edit kept) and gate decisions.
-- Audit items themselves are read from rollouts + annotations (001_core.sql); nothing is copied.

CREATE TABLE gate_thresholds (
  id INTEGER PRIMARY KEY,
  revision INTEGER NOT NULL UNIQUE,        -- 1, 2, ... ; revision 0 is the shipped gate_thresholds.yaml
  config TEXT NOT NULL,                    -- JSON: {"version", "defaults": {...}, "tasks": {task: {...}}}
  note TEXT,
  changed_by TEXT NOT NULL,
  changed_at TEXT NOT NULL
);

CREATE TABLE gate_decisions (
  id INTEGER PRIMARY KEY,
  computed_at TEXT NOT NULL,
  computed_by TEXT NOT NULL,
  tasks TEXT NOT NULL,                     -- JSON list of the tasks decided
  passed INTEGER NOT NULL,                 -- 1 only when every task in `tasks` passed
  reward_versions TEXT NOT NULL,           -- JSON {task: version} of the rewards audited
  reward_names TEXT NOT NULL DEFAULT '{}', -- JSON {task: reward name}
  thresholds TEXT NOT NULL,                -- JSON: the full thresholds config applied
  thresholds_revision INTEGER NOT NULL,
  per_task TEXT NOT NULL,                  -- JSON {task: {"passed", "reason", "stats": {...}}}
  annotations_hash TEXT NOT NULL,          -- sha256 of the annotation rows the audit read
  annotation_counts TEXT NOT NULL,         -- JSON {task: {"rollouts", "scored", "annotations", "annotators"}}
  n_boot INTEGER NOT NULL,
  seed INTEGER NOT NULL
);
CREATE INDEX idx_gate_decisions_time ON gate_decisions(computed_at);
