--
-- Security of try_index(hypothetical => true), where hypopg is installed (the
-- Makefile leaves this test out elsewhere): planning runs user code too, so
-- hypopg's trial plans each statement as its own role, under
-- SECURITY_RESTRICTED_OPERATION, exactly as a real trial replays it.  The
-- attacks of sql/security.sql that planning alone can carry out: constant
-- folding of a lying IMMUTABLE function (behind a CTE named like the table),
-- a user-defined aggregate, a view.  If mallory's code ever ran as the
-- superuser, it would set the sequence sech_witness and make her one.
--
SET client_min_messages = warning;
SET pgperf.track = top;

CREATE TABLE sech_orders (id int PRIMARY KEY, cust int NOT NULL) WITH (autovacuum_enabled = off);
INSERT INTO sech_orders SELECT g, g % 100 FROM generate_series(1, 2000) g;
VACUUM ANALYZE sech_orders;
CREATE SEQUENCE sech_witness;
CREATE ROLE regress_sech_mallory;
CREATE SCHEMA sech_m AUTHORIZATION regress_sech_mallory;
CREATE EXTENSION hypopg;
CREATE FUNCTION sech_state() RETURNS text LANGUAGE sql AS $$
  SELECT concat_ws(' ',
    'mallory superuser: ' || (SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_sech_mallory'),
    '| witness: ' || (SELECT last_value || CASE WHEN is_called THEN ' (set)' ELSE ' (untouched)' END
                        FROM sech_witness))
$$;
SELECT pgperf.reset() IS NOT NULL AS reset;

SET ROLE regress_sech_mallory;
CREATE FUNCTION sech_m.escalate() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    PERFORM setval('public.sech_witness', 666);
    ALTER ROLE regress_sech_mallory SUPERUSER;
  END IF;
  RETURN true;
END $$;
CREATE FUNCTION sech_m.k(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM sech_m.escalate();
  RETURN $1;
END $$;
-- a CTE named like the table, its condition folded at planning
WITH sech_orders AS MATERIALIZED (SELECT 1 AS x) SELECT * FROM sech_orders WHERE x = sech_m.k(42);
RESET ROLE;
SELECT sech_state();
SELECT count(*) AS cte_listed
  FROM pgperf.try_index('CREATE INDEX ON sech_orders (cust)', hypothetical => true)
 WHERE query LIKE 'WITH sech_orders%';
SELECT sech_state();

-- mallory may read the table: her statements are candidates, planned as her
GRANT SELECT ON sech_orders TO regress_sech_mallory;
SET ROLE regress_sech_mallory;
CREATE FUNCTION sech_m.step(int, int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM sech_m.escalate();
  RETURN coalesce($1, 0) + $2;
END $$;
CREATE AGGREGATE sech_m.total(int) (SFUNC = sech_m.step, STYPE = int);
SELECT sech_m.total(id) FROM sech_orders WHERE cust = 7;
CREATE VIEW sech_m.v AS SELECT * FROM sech_orders WHERE sech_m.k(cust) = cust;
SELECT count(*) FROM sech_m.v WHERE cust = 9;
RESET ROLE;
SELECT CASE WHEN verdict = 'skipped' THEN reason ELSE 'planned' END AS outcome, query
  FROM pgperf.try_index('CREATE INDEX ON sech_orders (cust)', hypothetical => true)
 WHERE query LIKE '%sech_m.%'
 ORDER BY query COLLATE "C";
SELECT sech_state();
SELECT count(*) AS hypothetical_left FROM hypopg_list_indexes;

DROP SCHEMA sech_m CASCADE;
DROP TABLE sech_orders;
DROP FUNCTION sech_state();
DROP SEQUENCE sech_witness;
DROP EXTENSION hypopg;
DROP ROLE regress_sech_mallory;
