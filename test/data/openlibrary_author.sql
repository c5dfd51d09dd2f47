-- pgbench custom script: the things by one author, in the Open Library case
-- (shared/seeds/001_fb701928522ea1ef.txt), a random author each time.
--   pgbench -n -f test/data/openlibrary_author.sql [-M prepared] ...
\set a random(4955500, 4955599)
SELECT d0.thing_id FROM datum d0
 WHERE d0.end_revision = 2147483647 AND d0.key = 'authors'
   AND d0.value = :a::text AND d0.datatype = 0;
