-- Assignment of rollouts to annotators, admin-editable settings, and the user admin log.

-- Settings the admin page edits (JSON values); every change is kept in settings_history.
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);

CREATE TABLE settings_history (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  old_value TEXT,
  new_value TEXT NOT NULL,
  changed_at TEXT NOT NULL,
  changed_by TEXT NOT NULL
);

-- One row per rollout that annotators score. Denormalised counters keep next_item an
-- index lookup even with 100,000 rollouts: `claimed` = first-round scores + live leases,
-- `scored` = annotators who gave a first-round score, `target` = annotators wanted.
CREATE TABLE item_queue (
  rollout_id INTEGER PRIMARY KEY REFERENCES rollouts(id),
  task TEXT NOT NULL,
  target INTEGER NOT NULL,
  claimed INTEGER NOT NULL DEFAULT 0,
  scored INTEGER NOT NULL DEFAULT 0,
  shuffle INTEGER NOT NULL          -- pseudo-random serving order, fixed per rollout
);
CREATE INDEX idx_queue_open ON item_queue(task, claimed, shuffle) WHERE claimed < target;
CREATE INDEX idx_queue_scored ON item_queue(task, scored);

-- Who holds or has finished which item. A lease (status 'leased') reserves an item for
-- one annotator until lease_until (unix seconds); an expired lease is deleted, freeing it.
CREATE TABLE assignments (
  id INTEGER PRIMARY KEY,
  rollout_id INTEGER NOT NULL REFERENCES rollouts(id),
  annotator_id INTEGER NOT NULL REFERENCES users(id),
  round INTEGER NOT NULL DEFAULT 0,  -- 1: the unannounced repeat of an item for self-consistency
  status TEXT NOT NULL CHECK (status IN ('leased', 'done', 'skipped')),
  lease_until REAL,
  reason TEXT,                       -- why it was skipped, when given
  served_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (rollout_id, annotator_id, round)
);
CREATE INDEX idx_assignments_annotator ON assignments(annotator_id, status);
CREATE INDEX idx_assignments_leases ON assignments(status, lease_until);

-- Items chosen to come back to the same annotator once `due_after` first-round scores
-- of theirs exist.
CREATE TABLE repeat_plan (
  annotator_id INTEGER NOT NULL REFERENCES users(id),
  rollout_id INTEGER NOT NULL REFERENCES rollouts(id),
  due_after INTEGER NOT NULL,
  PRIMARY KEY (annotator_id, rollout_id)
);

CREATE INDEX idx_history_annotation ON annotation_history(annotation_id);
CREATE INDEX idx_annotations_annotator_round ON annotations(annotator_id, round);

-- Who added, re-roled, disabled or re-enabled which account, and when.
CREATE TABLE user_events (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT,
  at TEXT NOT NULL,
  by TEXT NOT NULL
);
