-- What a comparison's base side depends on (base weights, eval prompts, generation
-- settings, samples, chunks: train.compare.base_reuse.base_key): a later comparison with
-- the same key copies the base completions instead of generating them again.

ALTER TABLE comparisons ADD COLUMN base_key TEXT;
CREATE INDEX idx_comparisons_base_key ON comparisons (base_key);
