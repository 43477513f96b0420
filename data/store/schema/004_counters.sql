-- Running counts kept by triggers, so progress and task balancing read a few small rows
-- instead of counting 100,000 queue rows and 50,000 annotations on every page run.
-- Triggers (not application code) keep them, so every write path updates them alike.

-- Per task: queued items, items with a first-round score, items with all the scores they need.
CREATE TABLE task_counts (
  task TEXT PRIMARY KEY,
  items INTEGER NOT NULL DEFAULT 0,
  scored INTEGER NOT NULL DEFAULT 0,
  complete INTEGER NOT NULL DEFAULT 0
);
INSERT INTO task_counts (task, items, scored, complete)
  SELECT task, count(*), sum(scored > 0), sum(scored > 0 AND scored >= target) FROM item_queue GROUP BY task;

CREATE TRIGGER item_queue_counts_insert AFTER INSERT ON item_queue BEGIN
  INSERT OR IGNORE INTO task_counts (task) VALUES (NEW.task);
  UPDATE task_counts SET items = items + 1, scored = scored + (NEW.scored > 0),
    complete = complete + (NEW.scored > 0 AND NEW.scored >= NEW.target) WHERE task = NEW.task;
END;

CREATE TRIGGER item_queue_counts_update AFTER UPDATE OF scored, target ON item_queue BEGIN
  UPDATE task_counts SET scored = scored + (NEW.scored > 0) - (OLD.scored > 0),
    complete = complete + (NEW.scored > 0 AND NEW.scored >= NEW.target) - (OLD.scored > 0 AND OLD.scored >= OLD.target)
    WHERE task = NEW.task;
END;

CREATE TRIGGER item_queue_counts_delete AFTER DELETE ON item_queue BEGIN
  UPDATE task_counts SET items = items - 1, scored = scored - (OLD.scored > 0),
    complete = complete - (OLD.scored > 0 AND OLD.scored >= OLD.target) WHERE task = OLD.task;
END;

-- Per annotator and task: scores given (any round), flags raised.
CREATE TABLE annotator_counts (
  annotator_id INTEGER NOT NULL REFERENCES users(id),
  task TEXT NOT NULL,
  scored INTEGER NOT NULL DEFAULT 0,
  flagged INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (annotator_id, task)
);
INSERT INTO annotator_counts (annotator_id, task, scored, flagged)
  SELECT a.annotator_id, r.task, sum(a.score IS NOT NULL), sum(a.flag_reward_wrong = 1)
  FROM annotations a JOIN rollouts r ON r.id = a.rollout_id GROUP BY a.annotator_id, r.task;

CREATE TRIGGER annotations_counts_insert AFTER INSERT ON annotations BEGIN
  INSERT OR IGNORE INTO annotator_counts (annotator_id, task)
    VALUES (NEW.annotator_id, (SELECT task FROM rollouts WHERE id = NEW.rollout_id));
  UPDATE annotator_counts SET scored = scored + (NEW.score IS NOT NULL), flagged = flagged + (NEW.flag_reward_wrong = 1)
    WHERE annotator_id = NEW.annotator_id AND task = (SELECT task FROM rollouts WHERE id = NEW.rollout_id);
END;

CREATE TRIGGER annotations_counts_update AFTER UPDATE OF score, flag_reward_wrong ON annotations BEGIN
  UPDATE annotator_counts SET scored = scored + (NEW.score IS NOT NULL) - (OLD.score IS NOT NULL),
    flagged = flagged + (NEW.flag_reward_wrong = 1) - (OLD.flag_reward_wrong = 1)
    WHERE annotator_id = NEW.annotator_id AND task = (SELECT task FROM rollouts WHERE id = NEW.rollout_id);
END;

CREATE TRIGGER annotations_counts_delete AFTER DELETE ON annotations BEGIN
  UPDATE annotator_counts SET scored = scored - (OLD.score IS NOT NULL), flagged = flagged - (OLD.flag_reward_wrong = 1)
    WHERE annotator_id = OLD.annotator_id AND task = (SELECT task FROM rollouts WHERE id = OLD.rollout_id);
END;
