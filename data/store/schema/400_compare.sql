-- Base-versus-tuned comparisons: the settings of each comparison, the eval prompts it
-- covers, every side's completions with their reward breakdown, blind review judgements
-- (with the side shown on the left) and reviewers' notes on examples.

CREATE TABLE comparisons (
  id INTEGER PRIMARY KEY,
  comparison_key TEXT NOT NULL UNIQUE,   -- hash of base, adapters, eval set and parameters: rerunning resumes
  base_model TEXT NOT NULL,
  sides TEXT NOT NULL,                   -- JSON list of {label, adapter, checkpoint_id} for the tuned sides
  eval_path TEXT,
  eval_sha256 TEXT NOT NULL,
  gen_params TEXT NOT NULL,              -- JSON: temperature, top_p, top_k, max_new_tokens, seed
  samples INTEGER NOT NULL CHECK (samples >= 1),
  tasks TEXT NOT NULL,                   -- JSON list, in report order
  n_prompts INTEGER NOT NULL,
  reward_versions TEXT NOT NULL,         -- JSON task -> reward version used for scoring
  status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'partial', 'complete', 'failed')),
  message TEXT,
  out_dir TEXT,                          -- where report.md / report.json are written
  job_id INTEGER,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE compare_prompts (
  comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
  prompt_id TEXT NOT NULL,
  position INTEGER NOT NULL,             -- order in the eval file (generation batches follow it)
  task TEXT NOT NULL,
  messages TEXT NOT NULL,                -- JSON list of {role, content}
  meta TEXT NOT NULL DEFAULT '{}',       -- JSON: the reward's keyword arguments and the stratum
  PRIMARY KEY (comparison_id, prompt_id)
);

CREATE TABLE compare_results (
  id INTEGER PRIMARY KEY,
  comparison_id INTEGER NOT NULL,
  prompt_id TEXT NOT NULL,
  side TEXT NOT NULL,                    -- 'base' or a tuned side's label
  sample_index INTEGER NOT NULL DEFAULT 0,
  completion TEXT NOT NULL,
  prompt_tokens INTEGER,
  completion_tokens INTEGER,
  truncated INTEGER,
  reward_name TEXT NOT NULL,
  reward_version TEXT NOT NULL,
  reward_total REAL NOT NULL,
  reward_components TEXT NOT NULL DEFAULT '{}',
  reward_notes TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  UNIQUE (comparison_id, prompt_id, side, sample_index),
  FOREIGN KEY (comparison_id, prompt_id) REFERENCES compare_prompts(comparison_id, prompt_id) ON DELETE CASCADE
);
CREATE INDEX idx_compare_results_side ON compare_results(comparison_id, side);

CREATE TABLE blind_judgements (
  id INTEGER PRIMARY KEY,
  comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
  prompt_id TEXT NOT NULL,
  tuned_side TEXT NOT NULL,              -- which tuned side was paired with the base
  sample_index INTEGER NOT NULL DEFAULT 0,
  reviewer_id INTEGER NOT NULL,
  reviewer TEXT NOT NULL,
  left_side TEXT NOT NULL,               -- what was shown on the left ('base' or tuned_side)
  right_side TEXT NOT NULL,
  choice TEXT NOT NULL CHECK (choice IN ('left', 'right', 'tie')),
  winner TEXT NOT NULL CHECK (winner IN ('base', 'tuned', 'tie')),
  seconds REAL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (comparison_id, prompt_id, tuned_side, sample_index, reviewer_id)
);
CREATE INDEX idx_blind_judgements_reviewer ON blind_judgements(comparison_id, reviewer_id);

CREATE TABLE review_notes (
  id INTEGER PRIMARY KEY,
  comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
  prompt_id TEXT NOT NULL,
  side TEXT,                             -- NULL: the example as a whole
  author_id INTEGER NOT NULL,
  author TEXT NOT NULL,
  note TEXT NOT NULL CHECK (length(trim(note)) > 0),
  created_at TEXT NOT NULL
);
CREATE INDEX idx_review_notes_prompt ON review_notes(comparison_id, prompt_id);
