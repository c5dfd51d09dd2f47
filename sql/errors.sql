--
-- Bad input: a clear error with an errcode, and nothing changed.
--
\set VERBOSITY default
SET pgperf.track = top;
CREATE TABLE err_t (id int);
INSERT INTO err_t VALUES (1);
SELECT pgperf.reset() IS NOT NULL AS t;
SELECT id FROM err_t;
SELECT count(*) AS before FROM pgperf.statements WHERE query = 'SELECT id FROM err_t';

-- the SQLSTATE and message of a statement's error
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT q, pg_temp.error_of(q) AS error
  FROM (VALUES ('SELECT pgperf.reset(NULL)'),
               ('SELECT pgperf.reset(0, NULL)'),
               ('SELECT pgperf.reset(0, 0, NULL)'),
               ('SELECT * FROM pgperf.get_statements(NULL)'),
               ('SELECT * FROM pgperf.get_plans(NULL)'),
               ('SELECT pgperf.mark('''')'),
               ('SELECT * FROM pgperf.compare(0, NULL)'),
               ('SELECT * FROM pgperf.compare(NULL::text, ''no such label'')'),
               ('SELECT * FROM pgperf.plan_diff(NULL)'),
               ('SELECT pgperf.report(-1, NULL)')) AS t(q);

-- nothing was reset by the failed calls
SELECT count(*) AS after FROM pgperf.statements WHERE query = 'SELECT id FROM err_t';

-- a reset that matches nothing removes nothing
SELECT pgperf.reset(0, 0, 12345) IS NOT NULL AS t;
SELECT count(*) AS still FROM pgperf.statements WHERE query = 'SELECT id FROM err_t';

-- without texts: counters only
SELECT query IS NULL AS no_text, calls FROM pgperf.get_statements(false)
 WHERE queryid = (SELECT queryid FROM pgperf.statements WHERE query = 'SELECT id FROM err_t');
SELECT plan IS NULL AND sample_query IS NULL AS no_texts, calls FROM pgperf.get_plans(false)
 WHERE queryid = (SELECT queryid FROM pgperf.statements WHERE query = 'SELECT id FROM err_t');

-- settings that only take effect at start-up cannot be changed here
SET pgperf.max = 10;
SET pgperf.text_area_size = '1MB';
-- pgperf's prefix is reserved: a misspelt setting is an error, not a silent no-op
SET pgperf.trak = 'top';
-- out of range (the message's unit format varies by major: its SQLSTATE)
\set VERBOSITY sqlstate
SET pgperf.max_text_length = 10;
\set VERBOSITY default
SET pgperf.track = 'sometimes';

DROP TABLE err_t;
