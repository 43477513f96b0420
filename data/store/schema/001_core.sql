-- Core tables shared by every part of the app: users, prompts, rollouts, annotations.
-- Numbering: 001-099 core/annotation, 100-199 jobs, 200-299 audit, 300-399 runs, 400-499 compare.

CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('annotator', 'engineer', 'reviewer', 'admin')),
  password_hash TEXT,               -- scrypt, salted; NULL for OIDC-only accounts
  email TEXT UNIQUE,                -- matched against st.user.email under OIDC
  active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  created_by TEXT
);

CREATE TABLE prompts (
  prompt_id TEXT PRIMARY KEY,
  task TEXT NOT NULL CHECK (task IN ('extraction', 'sql_qa', 'insights', 'push')),
  split TEXT,                       -- 'train' | 'eval' | NULL (imported)
  messages TEXT NOT NULL,           -- JSON list of {role, content}
  meta TEXT NOT NULL DEFAULT '{}',  -- JSON: rating, reference_sql, reference_answer, topic, stratum...
  created_at TEXT NOT NULL
);
CREATE INDEX idx_prompts_task ON prompts(task);

CREATE TABLE rollouts (
  id INTEGER PRIMARY KEY,
  prompt_id TEXT NOT NULL REFERENCES prompts(prompt_id),
  task TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT 'sample',   -- 'sample' | 'import' | 'compare'
  batch_id TEXT,                           -- sampling job / import file / comparison id
  model_id TEXT NOT NULL,
  checkpoint_id TEXT,                      -- adapter folder or run:step; NULL = base model
  gen_params TEXT NOT NULL DEFAULT '{}',   -- JSON: temperature, top_p, top_k, max_new_tokens, seed
  sample_index INTEGER NOT NULL DEFAULT 0,
  completion TEXT NOT NULL,
  prompt_tokens INTEGER,
  completion_tokens INTEGER,
  truncated INTEGER,                       -- 1 when generation hit max_new_tokens
  reward_name TEXT NOT NULL,
  reward_total REAL,
  reward_components TEXT NOT NULL DEFAULT '{}',
  reward_notes TEXT NOT NULL DEFAULT '[]',
  reward_version TEXT NOT NULL,
  dedup_key TEXT NOT NULL UNIQUE,          -- re-importing or re-sampling the same thing adds nothing
  created_at TEXT NOT NULL
);
CREATE INDEX idx_rollouts_task ON rollouts(task, source);
CREATE INDEX idx_rollouts_prompt ON rollouts(prompt_id);
CREATE INDEX idx_rollouts_batch ON rollouts(batch_id);

CREATE TABLE annotations (
  id INTEGER PRIMARY KEY,
  rollout_id INTEGER NOT NULL REFERENCES rollouts(id),
  annotator_id INTEGER NOT NULL REFERENCES users(id),
  round INTEGER NOT NULL DEFAULT 0,        -- 0 first score; 1 an unannounced repeat (self-consistency)
  score INTEGER CHECK (score BETWEEN 1 AND 5),
  flag_reward_wrong INTEGER NOT NULL DEFAULT 0,
  comment TEXT,
  seconds REAL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (rollout_id, annotator_id, round)
);
CREATE INDEX idx_annotations_annotator ON annotations(annotator_id);

CREATE TABLE annotation_history (
  id INTEGER PRIMARY KEY,
  annotation_id INTEGER NOT NULL REFERENCES annotations(id),
  score INTEGER,
  flag_reward_wrong INTEGER,
  comment TEXT,
  changed_at TEXT NOT NULL,
  changed_by TEXT NOT NULL
);
