--
-- Normalized texts: constants become $n, numbered after the statement's own
-- parameters; each statement of a multi-statement string is its own entry.
--
SET pgperf.track = top;
CREATE EXTENSION pg_stat_statements;
CREATE TABLE nz (id int, t text, f float8, d date);
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT pg_stat_statements_reset() IS NOT NULL AS t;

SELECT * FROM nz WHERE id = -42 AND t = 'it''s' AND f > 1.5e3 AND d < DATE '2024-01-01';
SELECT * FROM nz WHERE id IN (1, 2, 3) AND t LIKE E'a\\b%';
SELECT /* a comment 'with' a quote */ id FROM nz WHERE t = $$dollar 'quoted'$$;
SELECT id FROM nz WHERE id = 1; SELECT t FROM nz WHERE id = 2;
PREPARE nz_p(int) AS SELECT id FROM nz WHERE id = $1 AND t <> 'x';
EXECUTE nz_p(1);
DEALLOCATE nz_p;
-- the same statement with other constants and spacing is the same entry
SELECT * FROM nz WHERE id = 7 AND t = 'b' AND f > 2.5e3 AND d < DATE '2025-01-01';
select *   from nz where id = 8 and t = 'c' and f > 3e2 and d < date '2026-01-01';

-- (an IN list is one $n from 18 on, as pg_stat_statements shows it)
SELECT regexp_replace(query, 'IN \(\$1 /\*, \.\.\. \*/\) AND t LIKE \$2',
                      'IN ($1, $2, $3) AND t LIKE $4') AS query, calls
  FROM pgperf.statements
 WHERE query NOT LIKE '%pgperf%' AND query NOT LIKE '%pg_stat_statements%'
 ORDER BY query COLLATE "C";
-- every text is the one pg_stat_statements shows for the statement
SELECT count(*) AS texts, count(*) FILTER (WHERE s.query = p.query) AS as_pgss
  FROM pgperf.statements s JOIN pg_stat_statements p
    ON p.queryid = s.queryid AND p.userid = s.userid AND p.dbid = s.dbid AND p.toplevel = s.toplevel
 WHERE s.query NOT LIKE '%pgperf%';
DROP TABLE nz;
DROP EXTENSION pg_stat_statements;
