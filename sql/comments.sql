--
-- Every view and function of pgperf has a comment (README: "every SQL
-- object has a COMMENT"): an object added without one fails here.
--
SELECT count(*) >= 15 AS objects_checked
  FROM pg_proc WHERE pronamespace = 'pgperf'::regnamespace;
SELECT p.oid::regprocedure AS function_without_comment
  FROM pg_proc p
 WHERE p.pronamespace = 'pgperf'::regnamespace
   AND coalesce(obj_description(p.oid, 'pg_proc'), '') = ''
 ORDER BY 1::text COLLATE "C";
SELECT c.oid::regclass AS relation_without_comment
  FROM pg_class c
 WHERE c.relnamespace = 'pgperf'::regnamespace
   AND coalesce(obj_description(c.oid, 'pg_class'), '') = ''
 ORDER BY 1::text COLLATE "C";
SELECT t.oid::regtype AS type_without_comment
  FROM pg_type t
 WHERE t.typnamespace = 'pgperf'::regnamespace
   AND t.typrelid = 0 AND t.typelem = 0
   AND coalesce(obj_description(t.oid, 'pg_type'), '') = ''
 ORDER BY 1::text COLLATE "C";
-- one sentence each: a capital first, a period last, no line breaks
SELECT d.objoid::regprocedure::text AS odd_comment FROM pg_description d
 WHERE d.classoid = 'pg_proc'::regclass
   AND d.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = 'pgperf'::regnamespace)
   AND (description !~ '^[A-Z].*\.$' OR description ~ E'\n')
UNION ALL
SELECT d.objoid::regclass::text FROM pg_description d
 WHERE d.classoid = 'pg_class'::regclass
   AND d.objoid IN (SELECT oid FROM pg_class WHERE relnamespace = 'pgperf'::regnamespace)
   AND (description !~ '^[A-Z].*\.$' OR description ~ E'\n');
