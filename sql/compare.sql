--
-- compare(), plan_diff(), report(): before/after verdicts made deterministic:
-- plan changes that cut or multiply blocks per call a hundredfold, writes
-- judged by WAL records per row, unchanged statements dominated by a sleep.
--
SET pgperf.track = 'all';
-- rows of a group stored together: an index finds a group in a few blocks
CREATE TABLE cmp (id int, grp int, pad text);
INSERT INTO cmp SELECT g, g / 100, repeat('x', 100) FROM generate_series(1, 100000) g;
VACUUM ANALYZE cmp;
-- a Channable-like table: long URLs, a composite index on the dates
CREATE TABLE img (id int, url text, download_after timestamptz, referenced_at timestamptz);
INSERT INTO img SELECT g, 'https://www.example.com/images/catalogue/' || md5(g::text) || '/large.jpg',
       now(), now() FROM generate_series(1, 20000) g;
CREATE INDEX img_dates ON img (download_after, referenced_at);
VACUUM ANALYZE img;
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT pgperf.mark('before') AS w0 \gset

-- window 0: a seq scan, an UPDATE of 1% of the rows, a sleep, a rare query
DO $$
BEGIN
  FOR i IN 1..20 LOOP
    PERFORM count(*) FROM cmp WHERE grp = i;
    UPDATE img SET download_after = now() WHERE id % 100 = i;
    PERFORM pg_sleep(0.01);
  END LOOP;
  PERFORM count(*) FROM cmp WHERE id = -1;
END $$;
PREPARE gone_q AS SELECT count(*) FROM cmp WHERE pad = 'y';
EXECUTE gone_q;

-- the change: an index for the scan, a unique index on the URL
CREATE INDEX cmp_grp ON cmp (grp);
CREATE UNIQUE INDEX img_url ON img (url);
SELECT count(*) - 1 AS ddl_windows FROM pgperf.windows WHERE window_id > :w0;
SELECT pgperf.mark('after') AS w1 \gset

-- window 1: the same workload, and a new statement
DO $$
BEGIN
  FOR i IN 21..40 LOOP
    PERFORM count(*) FROM cmp WHERE grp = i;
    UPDATE img SET download_after = now() WHERE id % 100 = i;
    PERFORM pg_sleep(0.01);
  END LOOP;
  PERFORM count(*) FROM cmp WHERE id = -2;
  PERFORM count(*) FROM cmp WHERE pad = 'z' AND id = 0;
END $$;

-- statements are compared across the window before 'after' and 'after'
SET pgperf.compare_min_change = 0.5;
SELECT regexp_replace(query, '\s+', ' ', 'g') AS query, calls_before, calls_after,
       plan_changed, verdict
  FROM pgperf.compare(:w0, :w1)
 WHERE query NOT LIKE '%pgperf%' AND query NOT LIKE 'DO %'
 ORDER BY query COLLATE "C";

-- the reasons name what changed: the index, the extra writes
SELECT regexp_replace(reason, '[0-9.]+x (faster|slower) \(p < 0.001\)', 'Nx \1 (p < 0.001)') AS reason
  FROM pgperf.compare(:w0, :w1) WHERE query LIKE 'SELECT count(*) FROM cmp WHERE grp%';
SELECT reason ~ '^same plan, but each execution does more write work: blocks per call [0-9.]+ -> [0-9.]+, WAL per call .* -> .*, WAL records per row .* -> .*, blocks dirtied per call .* -> .* \(a new index to maintain\?\)' AS names_writes,
       blks_per_call_after > 1.25 * blks_per_call_before AS more_blocks
  FROM pgperf.compare(:w0, :w1) WHERE query LIKE 'UPDATE img%';
SELECT verdict, regexp_replace(reason, '[0-9]+', 'N', 'g') AS reason
  FROM pgperf.compare(:w0, :w1)
 WHERE verdict IN ('new', 'gone', 'insufficient_data') AND query NOT LIKE '%pgperf%'
 ORDER BY verdict COLLATE "C";
SELECT reason ~ '^no significant change: [0-9.]+x \(p = [0-9.]+\)$' AS no_change
  FROM pgperf.compare(:w0, :w1) WHERE query LIKE 'SELECT pg_sleep%';

-- the figures behind the verdicts
SELECT speedup > 1.5 AS faster, blks_per_call_before / blks_per_call_after > 100 AS blocks_cut,
       p_value < 0.001 AS significant, array_length(plans_before, 1) AS np_before,
       array_length(plans_after, 1) AS np_after, plans_before <> plans_after AS other_plan
  FROM pgperf.compare(:w0, :w1) WHERE query LIKE 'SELECT count(*) FROM cmp WHERE grp%';

-- by label: the window labelled 'before', against the windows from the one
-- labelled 'after' on (here only it); a NULL after is the current window
SELECT count(*) = (SELECT count(*) FROM pgperf.compare(:w0, :w1)) AS same_rows
  FROM pgperf.compare('before', 'after');
SELECT count(*) = (SELECT count(*) FROM pgperf.compare(:w0, :w1)) AS same_rows
  FROM pgperf.compare(:w0, NULL);
-- a NULL before: each statement against the last window before 'after'
-- where it ran enough: window w0, past the two windows the indexes opened
-- (where nothing ran), so the verdicts are those of compare(w0, w1)
SELECT regexp_replace(query, '\s+', ' ', 'g') AS query, verdict,
       before_window = :w0 AS before_w0, after_window = :w1 AS after_w1,
       reason LIKE '%(before: window ' || :w0 || ', the last before window ' || :w1 || ' where it ran %' AS says_which
  FROM pgperf.compare(NULL, :w1)
 WHERE query NOT LIKE 'DO %'
 ORDER BY query COLLATE "C";

-- the plan diff: the seq scan gone, the index there
SELECT regexp_replace(regexp_replace(line, 'planid -?[0-9]+, [0-9]+ calls?(.*), mean .*$',
                                     'planid P, N calls\1, mean T'), 'window [0-9]+', 'window N') AS line
  FROM pgperf.plan_diff((SELECT queryid FROM pgperf.compare(:w0, :w1)
                          WHERE query LIKE 'SELECT count(*) FROM cmp WHERE grp%'), :w0, :w1) AS line;

-- the report: counts, then the statements that changed
SELECT line FROM regexp_split_to_table(pgperf.report(:w0, :w1), '\n') AS line
 WHERE line ~ '^[0-9]+ statements' OR line ~ '^(Regressed|Improved|Cache)';

-- the reverse: dropping the index makes the scan slower again
DROP INDEX cmp_grp;
DO $$ BEGIN FOR i IN 41..60 LOOP PERFORM count(*) FROM cmp WHERE grp = i; END LOOP; END $$;
SELECT verdict, plan_changed FROM pgperf.compare()
 WHERE query LIKE 'SELECT count(*) FROM cmp WHERE grp%';
RESET pgperf.compare_min_change;

-- a query rewritten into two (as in the Funkwhale case): the report's
-- workload line counts every call of both windows, and its New and Gone
-- sections put the two sides of the rewrite side by side, longest first
-- (times, queryids and window ids masked)
SELECT pgperf.mark('one query') AS r0 \gset
DO $$ BEGIN FOR i IN 1..5 LOOP
  PERFORM count(*) FROM cmp a JOIN cmp b USING (id) WHERE a.grp = i;
END LOOP; END $$;
SELECT pgperf.mark('two queries') AS r1 \gset
DO $$ BEGIN FOR i IN 1..5 LOOP
  PERFORM count(*) FROM cmp WHERE grp = i;
  PERFORM count(*) FROM img WHERE id = i;
END LOOP; END $$;
SELECT pgperf.mark('done') IS NOT NULL AS t;
SELECT regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(line,
         '[0-9.]+ (ms|s|min|h)\M', 'T', 'g'), 'queryid -?[0-9]+', 'queryid Q'), 'window [0-9]+', 'window N', 'g'),
         '[0-9]+\.[0-9]+', 'N', 'g'), '[+-][0-9]+%', 'P%', 'g') AS line
  FROM regexp_split_to_table(pgperf.report(:r0, :r1), '\n') WITH ORDINALITY AS l(line, n)
 WHERE line ~ '^(Workload|[0-9]+ statements|  before: [0-9T]|  after:  [0-9T])'
    OR n >= (SELECT min(n) FROM regexp_split_to_table(pgperf.report(:r0, :r1), '\n')
                                WITH ORDINALITY AS h(line, n) WHERE line ~ '^New')
 ORDER BY n;

-- bad input: clear errors (messages naming window ids show their SQLSTATE only)
\set VERBOSITY terse
SELECT * FROM pgperf.compare(0, :w1);
SELECT * FROM pgperf.compare(-5, NULL);
SELECT * FROM pgperf.compare(2147483647, NULL);
SELECT * FROM pgperf.compare('no such label', 'after');
SELECT * FROM pgperf.plan_diff(NULL);
SELECT pgperf.report(0, 1);
\set VERBOSITY sqlstate
SELECT * FROM pgperf.compare(:w1, :w1);
SELECT * FROM pgperf.plan_diff(12345, :w0, :w1);
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT * FROM pgperf.compare();
\set VERBOSITY default
-- a full reset forgets pgperf's own statements, but not the reset() that
-- ran it: it is no 'gone' statement of the next comparison
SELECT pgperf.mark() IS NOT NULL AS t;
SELECT count(*) AS own_listed FROM pgperf.compare() WHERE query LIKE '%pgperf.reset%';
SELECT pgperf.report() LIKE '%pgperf.reset%' AS report_lists_it;

DEALLOCATE gone_q;
SET pgperf.track = top;
DROP TABLE cmp, img;
