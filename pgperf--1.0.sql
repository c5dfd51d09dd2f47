/* pgperf--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pgperf" to load this file. \quit

GRANT USAGE ON SCHEMA pgperf TO PUBLIC;

-- Capture ------------------------------------------------------------------

CREATE FUNCTION pgperf.get_statements(
    showtext boolean DEFAULT true,
    OUT window_id integer,
    OUT userid oid,
    OUT dbid oid,
    OUT toplevel boolean,
    OUT queryid bigint,
    OUT planid bigint,
    OUT query text,
    OUT calls bigint,
    OUT rows bigint,
    OUT total_exec_ms double precision,
    OUT min_exec_ms double precision,
    OUT max_exec_ms double precision,
    OUT mean_exec_ms double precision,
    OUT stddev_exec_ms double precision,
    OUT p50_ms double precision,
    OUT p95_ms double precision,
    OUT p99_ms double precision,
    OUT plans bigint,
    OUT total_plan_ms double precision,
    OUT min_plan_ms double precision,
    OUT max_plan_ms double precision,
    OUT mean_plan_ms double precision,
    OUT stddev_plan_ms double precision,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT shared_blks_dirtied bigint,
    OUT shared_blks_written bigint,
    OUT local_blks_hit bigint,
    OUT local_blks_read bigint,
    OUT local_blks_dirtied bigint,
    OUT local_blks_written bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT blk_read_ms double precision,
    OUT blk_write_ms double precision,
    OUT temp_blk_read_ms double precision,
    OUT temp_blk_write_ms double precision,
    OUT wal_records bigint,
    OUT wal_fpi bigint,
    OUT wal_bytes numeric,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_get_statements'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW pgperf.statements AS
  SELECT * FROM pgperf.get_statements(true);

CREATE FUNCTION pgperf.get_plans(
    showtext boolean DEFAULT true,
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT planid bigint,
    OUT calls bigint,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz,
    OUT plan text,
    OUT sample_query text,
    OUT sample_params text[],
    OUT sample_param_types regtype[],
    OUT sample_truncated boolean
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_get_plans'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW pgperf.plans AS
  SELECT * FROM pgperf.get_plans(true);

CREATE FUNCTION pgperf.get_info(
    OUT entries bigint,
    OUT max_entries bigint,
    OUT plans bigint,
    OUT queries bigint,
    OUT evictions bigint,
    OUT current_window integer,
    OUT windows integer,
    OUT windows_dropped bigint,
    OUT text_area_bytes bigint,
    OUT text_used_bytes bigint,
    OUT text_live_bytes bigint,
    OUT text_compactions bigint,
    OUT texts_dropped bigint,
    OUT stats_since timestamptz
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgperf_get_info'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW pgperf.info AS
  SELECT * FROM pgperf.get_info();

CREATE FUNCTION pgperf.reset(
    userid oid DEFAULT 0,
    dbid oid DEFAULT 0,
    queryid bigint DEFAULT 0
)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'pgperf_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Windows and before/after ----------------------------------------------

CREATE FUNCTION pgperf.mark(label text DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'pgperf_mark'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION pgperf.get_windows(
    OUT window_id integer,
    OUT label text,
    OUT started_at timestamptz,
    OUT ended_at timestamptz,
    OUT reason text,
    OUT detail text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_get_windows'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE VIEW pgperf.windows AS
  SELECT * FROM pgperf.get_windows();

CREATE FUNCTION pgperf.compare(
    before integer DEFAULT NULL,
    after integer DEFAULT NULL,
    OUT queryid bigint,
    OUT query text,
    OUT calls_before bigint,
    OUT calls_after bigint,
    OUT plans_before bigint[],
    OUT plans_after bigint[],
    OUT plan_changed boolean,
    OUT mean_ms_before double precision,
    OUT mean_ms_after double precision,
    OUT p95_ms_before double precision,
    OUT p95_ms_after double precision,
    OUT speedup double precision,
    OUT blks_per_call_before double precision,
    OUT blks_per_call_after double precision,
    OUT reads_per_call_before double precision,
    OUT reads_per_call_after double precision,
    OUT dirtied_per_call_before double precision,
    OUT dirtied_per_call_after double precision,
    OUT wal_bytes_per_call_before double precision,
    OUT wal_bytes_per_call_after double precision,
    OUT p_value double precision,
    OUT verdict text,
    OUT reason text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_compare'
LANGUAGE C VOLATILE PARALLEL SAFE;

-- by labels (no defaults, so that compare() resolves to the integer form)
CREATE FUNCTION pgperf.compare(
    before text,
    after text,
    OUT queryid bigint,
    OUT query text,
    OUT calls_before bigint,
    OUT calls_after bigint,
    OUT plans_before bigint[],
    OUT plans_after bigint[],
    OUT plan_changed boolean,
    OUT mean_ms_before double precision,
    OUT mean_ms_after double precision,
    OUT p95_ms_before double precision,
    OUT p95_ms_after double precision,
    OUT speedup double precision,
    OUT blks_per_call_before double precision,
    OUT blks_per_call_after double precision,
    OUT reads_per_call_before double precision,
    OUT reads_per_call_after double precision,
    OUT dirtied_per_call_before double precision,
    OUT dirtied_per_call_after double precision,
    OUT wal_bytes_per_call_before double precision,
    OUT wal_bytes_per_call_after double precision,
    OUT p_value double precision,
    OUT verdict text,
    OUT reason text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgperf_compare_labels'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE FUNCTION pgperf.plan_diff(
    queryid bigint,
    before integer DEFAULT NULL,
    after integer DEFAULT NULL
)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'pgperf_plan_diff'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE FUNCTION pgperf.report(before integer DEFAULT NULL, after integer DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgperf_report'
LANGUAGE C VOLATILE PARALLEL SAFE;

CREATE FUNCTION pgperf.report(before text, after text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgperf_report_labels'
LANGUAGE C VOLATILE PARALLEL SAFE;

GRANT SELECT ON pgperf.statements, pgperf.plans, pgperf.info, pgperf.windows TO PUBLIC;
-- functions that change state are not for everyone
REVOKE ALL ON FUNCTION pgperf.reset(oid, oid, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgperf.mark(text) FROM PUBLIC;
