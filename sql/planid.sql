--
-- planid: one per plan shape.  Constants and parameter values do not change
-- it; the index a plan uses, the scan direction, the join method do.
--
SET pgperf.track = top;
CREATE TABLE pl_a (id int PRIMARY KEY, b_id int, v int, note text);
CREATE TABLE pl_b (id int PRIMARY KEY, name text);
INSERT INTO pl_a SELECT g, g % 100, g % 1000, md5(g::text) FROM generate_series(1, 20000) g;
INSERT INTO pl_b SELECT g, 'b' || g FROM generate_series(1, 100) g;
VACUUM ANALYZE pl_a, pl_b;

SELECT pgperf.reset() IS NOT NULL AS t;

-- different constants, same shape: one planid
SELECT count(*) FROM pl_a WHERE v = 1;
SELECT count(*) FROM pl_a WHERE v = 2;
SELECT count(*) FROM pl_a WHERE v = 3;
SELECT count(DISTINCT planid) AS planids, sum(calls) AS calls
  FROM pgperf.statements WHERE query = 'SELECT count(*) FROM pl_a WHERE v = $1';

-- the planner starts using a new index: a new planid, a new plan record
CREATE INDEX pl_a_v ON pl_a (v);
SELECT count(*) FROM pl_a WHERE v = 4;
SELECT count(*) FROM pl_a WHERE v = 5;
SELECT count(DISTINCT planid) AS planids, sum(calls) AS calls
  FROM pgperf.statements WHERE query = 'SELECT count(*) FROM pl_a WHERE v = $1';
SELECT calls, plan
  FROM pgperf.plans p
 WHERE queryid = (SELECT DISTINCT queryid FROM pgperf.statements
                   WHERE query = 'SELECT count(*) FROM pl_a WHERE v = $1')
 ORDER BY first_seen;

-- blocks per call tell the two plans apart: the index plan reads far fewer
SELECT max(bpc) / min(bpc) > 4 AS index_reads_far_fewer
  FROM (SELECT (shared_blks_hit + shared_blks_read)::float8 / calls AS bpc
          FROM pgperf.statements
         WHERE query = 'SELECT count(*) FROM pl_a WHERE v = $1') s;

-- dropping the index brings back the first shape, and its planid
DROP INDEX pl_a_v;
SELECT count(*) FROM pl_a WHERE v = 6;
SELECT count(DISTINCT planid) AS planids, sum(calls) AS calls
  FROM pgperf.statements WHERE query = 'SELECT count(*) FROM pl_a WHERE v = $1';

-- scan direction is part of the shape
SELECT id FROM pl_a ORDER BY id LIMIT 1;
SELECT id FROM pl_a ORDER BY id DESC LIMIT 1;
SELECT count(DISTINCT planid) AS planids
  FROM pgperf.statements WHERE query LIKE 'SELECT id FROM pl_a ORDER BY id%';

-- the join method is part of the shape: same statement, three plans
SELECT count(*) FROM pl_a a JOIN pl_b b ON a.b_id = b.id WHERE b.name = 'b7';
SET enable_hashjoin = off;
SELECT count(*) FROM pl_a a JOIN pl_b b ON a.b_id = b.id WHERE b.name = 'b7';
SET enable_nestloop = off;
SELECT count(*) FROM pl_a a JOIN pl_b b ON a.b_id = b.id WHERE b.name = 'b7';
RESET enable_hashjoin;
RESET enable_nestloop;
SELECT count(DISTINCT queryid) AS queryids, count(DISTINCT planid) AS planids
  FROM pgperf.statements WHERE query LIKE 'SELECT count(*) FROM pl_a a JOIN pl_b b%';
-- (the plan nodes: the order of a join filter's operands varies by major)
SELECT regexp_replace(plan, '\n *(Join Filter|Hash Cond|Merge Cond): [^\n]*', '', 'g') AS plan
  FROM pgperf.plans
 WHERE queryid = (SELECT DISTINCT queryid FROM pgperf.statements
                   WHERE query LIKE 'SELECT count(*) FROM pl_a a JOIN pl_b b%')
 ORDER BY first_seen;

-- a prepared statement: custom plans and the generic plan have one shape here
PREPARE pl_q(int) AS SELECT note FROM pl_a WHERE id = $1;
EXECUTE pl_q(1);
EXECUTE pl_q(2);
EXECUTE pl_q(3);
EXECUTE pl_q(4);
EXECUTE pl_q(5);
SET plan_cache_mode = force_generic_plan;
EXECUTE pl_q(6);
RESET plan_cache_mode;
SELECT count(DISTINCT planid) AS planids, sum(calls) AS calls
  FROM pgperf.statements WHERE query LIKE 'PREPARE pl_q%';

-- sub-plans and init-plans are part of the shape
SELECT count(*) FROM pl_b b WHERE EXISTS (SELECT 1 FROM pl_a a WHERE a.b_id = b.id AND a.v = 10);
SELECT count(*) FROM pl_b b WHERE b.id = (SELECT max(b_id) FROM pl_a);
SELECT count(DISTINCT planid) AS planids FROM pgperf.statements
 WHERE query LIKE 'SELECT count(*) FROM pl_b b WHERE%';

-- renaming a relation changes the planid (relations are named, not
-- numbered); renaming it back brings the first planid back (the queryid
-- follows the relation's OID up to 17, its name from 18 on)
SELECT note FROM pl_b JOIN pl_a USING (id) WHERE pl_b.id = 1;
ALTER TABLE pl_b RENAME TO pl_b2;
SELECT note FROM pl_b2 JOIN pl_a USING (id) WHERE pl_b2.id = 1;
ALTER TABLE pl_b2 RENAME TO pl_b;
SELECT note FROM pl_b JOIN pl_a USING (id) WHERE pl_b.id = 1;
SELECT count(DISTINCT planid) AS planids, sum(calls) AS calls
  FROM pgperf.statements WHERE query LIKE 'SELECT note FROM pl_b%';

-- the plan text is EXPLAIN without costs, kept once per shape
SELECT count(*) AS plans_with_costs FROM pgperf.plans WHERE plan LIKE '%cost=%';

DROP TABLE pl_a, pl_b;
DEALLOCATE pl_q;
