-- pgbench custom script: BookWyrm's home-timeline query, as in the seed case
-- (shared/seeds/000_46f1eeccd85b6d70.txt), for a random viewer each time.
--   pgbench -n -f test/data/bookwyrm_timeline.sql -s SCALE [-M prepared] ...
-- The data come from bookwyrm.sql with the same scale (1,500 users per unit;
-- pgbench sets :scale from -s).  pgbench drops these leading comments.
\set viewer random(1, 1500 * :scale)
SELECT s.id, s.user_id, u.username, s.privacy, s.published_date, s.content
FROM bookwyrm_status s
JOIN bookwyrm_user u ON s.user_id = u.id
WHERE s.deleted = false
  AND s.privacy IN ('public', 'unlisted', 'followers')
  AND u.is_active = true
  AND NOT EXISTS (
    SELECT 1 FROM bookwyrm_userblocks b
    WHERE (b.user_subject_id = :viewer AND b.user_object_id = s.user_id)
       OR (b.user_subject_id = s.user_id AND b.user_object_id = :viewer))
ORDER BY s.published_date DESC
LIMIT 50;
