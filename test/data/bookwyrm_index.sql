-- The index from the seed case (shared/seeds/000_46f1eeccd85b6d70.txt), for
-- BookWyrm's home-timeline query (bookwyrm_timeline.sql):
--   deleted first, then privacy, then published_date DESC, and partial
--   (WHERE deleted = false) so it holds only live statuses.
--
-- The seed created it with CREATE INDEX CONCURRENTLY, to not block writes on a
-- production table.  Here it is a plain CREATE INDEX: the demo runs nothing
-- else against the table while it is built (the workload has finished), it
-- takes well under a second on 400,000 rows, and a plain CREATE INDEX can be
-- run by psql -1 or inside any transaction, which CONCURRENTLY refuses.  The
-- resulting index, and so the plans pgperf sees, are the same either way.
CREATE INDEX bookwyrm_status_privacy_performance_idx
    ON bookwyrm_status (deleted, privacy, published_date DESC)
    WHERE deleted = false;
