-- The audit's own bookkeeping: a revision number of what it reads, who or what computed a
-- decision, the latest estimate of how many scores each task still needs, and the one
-- minimum (the gate's min_items) replacing the assignment setting task_minimum.

-- Bumped by triggers (every write path alike) whenever something the audit reads changes:
-- rollouts, annotations, prompt metadata (re-scoring reads it), gate thresholds. The audit
-- page caches its statistics per (revision, reward versions) and recomputes only when it moves.
CREATE TABLE audit_revision (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  revision INTEGER NOT NULL
);
INSERT INTO audit_revision (id, revision) VALUES (1, 0);
CREATE TRIGGER audit_rev_annotation_insert AFTER INSERT ON annotations BEGIN
  UPDATE audit_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER audit_rev_annotation_update AFTER UPDATE ON annotations BEGIN
  UPDATE audit_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER audit_rev_annotation_delete AFTER DELETE ON annotations BEGIN
  UPDATE audit_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER audit_rev_rollout_insert AFTER INSERT ON rollouts BEGIN
  UPDATE audit_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER audit_rev_rollout_update AFTER UPDATE ON rollouts BEGIN
  UPDATE audit_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER audit_rev_rollout_delete AFTER DELETE ON rollouts BEGIN
  UPDATE audit_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER audit_rev_prompt_update AFTER UPDATE ON prompts BEGIN
  UPDATE audit_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER audit_rev_thresholds_insert AFTER INSERT ON gate_thresholds BEGIN
  UPDATE audit_revision SET revision = revision + 1 WHERE id = 1; END;

-- What computed a decision, beside who: "Audit & gate page", "tucano-audit audit (command line)".
ALTER TABLE gate_decisions ADD COLUMN computed_via TEXT;

-- Per task, the latest estimate of the scores still needed (audit_app.audit.needs), saved
-- whenever the audit page computes a fresh audit, read by the annotate and sample pages.
CREATE TABLE audit_targets (
  task TEXT PRIMARY KEY,
  target_items INTEGER NOT NULL,           -- scored items to reach (>= the gate's min_items)
  target_prompts INTEGER NOT NULL,
  per_prompt REAL NOT NULL,                -- completions per prompt the estimate assumed
  second_scores INTEGER NOT NULL,          -- further items a second person must score
  reachable INTEGER,                       -- 1 yes, 0 not by more scores (fix the reward), NULL unknown yet
  reason TEXT NOT NULL,
  revision INTEGER NOT NULL,               -- audit_revision when it was computed
  computed_at TEXT NOT NULL
);

-- One minimum: the annotate page reads the gate's min_items. A stored task_minimum is
-- dropped; the history keeps what it was and where the minimum lives now.
INSERT INTO settings_history (key, old_value, new_value, changed_at, changed_by)
  SELECT key, value, '"moved to the gate thresholds (min_items)"', strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'),
         'migration 201'
  FROM settings WHERE key = 'task_minimum';
DELETE FROM settings WHERE key = 'task_minimum';
