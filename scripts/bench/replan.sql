-- Tables for scripts/bench.sh's re-planned workloads (callgrind): six small
-- tables joined together, and a table of 64 hash partitions whose every
-- partition a query on a non-key column scans (an Append of 64 scans).
CREATE TABLE j1 (id int PRIMARY KEY, a int);
CREATE TABLE j2 (id int PRIMARY KEY, a int);
CREATE TABLE j3 (id int PRIMARY KEY, a int);
CREATE TABLE j4 (id int PRIMARY KEY, a int);
CREATE TABLE j5 (id int PRIMARY KEY, a int);
CREATE TABLE j6 (id int PRIMARY KEY, a int);
INSERT INTO j1 SELECT g, g FROM generate_series(1, 1000) g;
INSERT INTO j2 SELECT * FROM j1;
INSERT INTO j3 SELECT * FROM j1;
INSERT INTO j4 SELECT * FROM j1;
INSERT INTO j5 SELECT * FROM j1;
INSERT INTO j6 SELECT * FROM j1;
CREATE TABLE p64 (k int, v int) PARTITION BY HASH (k);
DO $$ BEGIN
  FOR i IN 0..63 LOOP
    EXECUTE format('CREATE TABLE p64_%s PARTITION OF p64 FOR VALUES WITH (MODULUS 64, REMAINDER %s)', i, i);
  END LOOP;
END $$;
INSERT INTO p64 SELECT g, g FROM generate_series(1, 6400) g;
VACUUM ANALYZE;
