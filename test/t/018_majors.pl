# What newer majors offer, used where it exists and NULL where it does not:
#  - 17+: local block read and write times;
#  - 18+: WAL buffers full, parallel workers planned and launched, and the
#    planid set as the plan's planId (a cached plan is not walked again);
#  - 19+: a prepared statement whose plan changed when it went generic says
#    so in plan_changes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('majors');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pgperf'
pgperf.track = 'all'
pgperf.compare_min_calls = 2
max_parallel_workers_per_gather = 2
parallel_setup_cost = 0
parallel_tuple_cost = 0
min_parallel_table_scan_size = 0
});
$node->start;
my $major = int($node->safe_psql('postgres', 'SHOW server_version_num') / 10000);
note "PostgreSQL $major";
$node->safe_psql('postgres', q{
	CREATE EXTENSION pgperf;
	CREATE TABLE big AS SELECT g AS id, g % 100 AS grp FROM generate_series(1, 100000) g;
	VACUUM ANALYZE big;
	SELECT pgperf.reset();
});

# a temporary table (local blocks) and a parallel scan
$node->safe_psql('postgres', q{
	SET temp_buffers = '1MB';
	CREATE TEMP TABLE t AS SELECT g FROM generate_series(1, 20000) g;
	SELECT count(*) FROM t;
	SELECT count(*) FROM big WHERE grp = 3;
});
my $r = $node->safe_psql('postgres', q{
	SELECT (local_blk_read_ms IS NOT NULL)::text || '|' || (wal_buffers_full IS NOT NULL)::text || '|' ||
	       coalesce(parallel_workers_to_launch::text, 'null')
	  FROM pgperf.statements WHERE query = 'SELECT count(*) FROM big WHERE grp = $1'});
my ($local, $walfull, $workers) = split /\|/, $r;
is($local, $major >= 17 ? 'true' : 'false', 'local block times where the server has them');
is($walfull, $major >= 18 ? 'true' : 'false', 'WAL buffers full where the server has them');
if ($major >= 18)
{
	cmp_ok($workers, '>', 0, 'parallel workers planned are counted');
}
else
{
	is($workers, 'null', 'parallel workers: NULL before 18');
}

# 18+: a cached plan keeps pgperf's planid as its planId: the executions of a
# prepared statement all get the planid its first planning got
$node->safe_psql('postgres', q{
	SET plan_cache_mode = force_generic_plan;
	PREPARE q(int) AS SELECT count(*) FROM big WHERE id = $1;
	EXECUTE q(1); EXECUTE q(2); EXECUTE q(3);
});
is($node->safe_psql('postgres', q{
	SELECT count(DISTINCT planid) || ' ' || sum(calls) FROM pgperf.statements WHERE query LIKE 'PREPARE q%'}),
	'1 3', 'a cached plan: one planid, every execution');

# 19+: custom plans, then the generic plan of another shape: the change says
# the statement switched to its generic plan
$node->safe_psql('postgres', q{
	CREATE TABLE pt (k int, v int) PARTITION BY LIST (k);
	CREATE TABLE pt1 PARTITION OF pt FOR VALUES IN (1);
	CREATE TABLE pt2 PARTITION OF pt FOR VALUES IN (2);
	INSERT INTO pt SELECT 1 + g % 2, g FROM generate_series(1, 2000) g;
	VACUUM ANALYZE pt;
});
$node->safe_psql('postgres', q{
	PREPARE g(int) AS SELECT count(*) FROM pt WHERE k = $1;
	SET plan_cache_mode = force_custom_plan;
	EXECUTE g(1); EXECUTE g(2); EXECUTE g(1);
	SET plan_cache_mode = force_generic_plan;
	EXECUTE g(1); EXECUTE g(2); EXECUTE g(1);
});
my $reason = $node->safe_psql('postgres', q{
	SELECT reason FROM pgperf.plan_changes WHERE query LIKE 'PREPARE g%'});
note "plan change: $reason";
if ($major >= 19)
{
	like($reason, qr/switched from custom plans to the generic plan/,
		'the change says the statement went generic');
}
else
{
	unlike($reason, qr/switched/, 'where the server does not say, pgperf does not guess');
}

$node->stop;
done_testing();
