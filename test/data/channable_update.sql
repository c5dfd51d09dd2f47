-- pgbench custom script: the 1% update of the Channable case
-- (shared/seeds/002_c308544a227738b6.txt), a different hundredth each time.
--   pgbench -n -f test/data/channable_update.sql [-M prepared] ...
\set k random(0, 99)
UPDATE image_links SET download_after = now() WHERE id % 100 = :k;
