# pgperf.log_regressions: a plan change judged a regression is logged once,
# at the configured level, naming the statement, both plans' figures and
# the window; a change to a faster plan is not logged.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('regression_log');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pgperf'
pgperf.track = 'all'
pgperf.compare_min_change = 0.5
max_parallel_workers_per_gather = 0
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pgperf;
	CREATE TABLE rl (id int, grp int, pad text);
	INSERT INTO rl SELECT g, g / 100, repeat('x', 100) FROM generate_series(1, 100000) g;
	CREATE INDEX rl_grp ON rl (grp);
	ANALYZE rl;
	CREATE TABLE rl2 AS SELECT * FROM rl;
	CREATE INDEX rl2_grp ON rl2 (grp);
	ANALYZE rl2;
	CREATE TABLE rl3 AS SELECT * FROM rl;
	CREATE INDEX rl3_grp ON rl3 (grp);
	ANALYZE rl3;
	SELECT pgperf.reset();
});

my $loop = q{DO $$ BEGIN FOR i IN %d..%d LOOP PERFORM count(*) FROM %s WHERE grp = i; END LOOP; END $$};
$node->safe_psql('postgres', sprintf($loop, 1, 20, 'rl'));
$node->safe_psql('postgres', 'DROP INDEX rl_grp');
$node->safe_psql('postgres', sprintf($loop, 21, 40, 'rl'));
is($node->safe_psql('postgres',
		q{SELECT status FROM pgperf.plan_changes WHERE query LIKE 'SELECT count(*) FROM rl%'}),
	'regressed', 'the flip to a seq scan is a regression');

# log_regressions was off: nothing logged yet
my $offset = -s $node->logfile;
ok(!$node->log_contains(qr/pgperf: plan regression/), 'nothing logged while off');

# on: the next execution in a backend checks, and logs it once
$node->safe_psql('postgres', q{
	SET pgperf.log_regressions = on;
	SELECT 1;
	SELECT 2;
});
ok($node->log_contains(
		qr/LOG:  pgperf: plan regression in query -?\d+ \(database \d+, role \d+\), window \d+/, $offset),
	'the regression is logged at LOG');
ok($node->log_contains(
		qr/DETAIL:  Old plan -?\d+: 20 calls, mean [\d.]+ ms, p95 [\d.]+ ms, 0 failed; new plan -?\d+: 20 calls, mean [\d.]+ ms, p95 [\d.]+ ms, 0 failed; plan changed from [^;]*rl_grp[^;]* to Seq Scan on rl; [\d.]+x slower.*Statement: SELECT count\(\*\) FROM rl WHERE grp = i/,
		$offset),
	'with both plans\' figures and what changed');

# once: other backends, later checks, do not log it again
$node->safe_psql('postgres', 'SET pgperf.log_regressions = on; SELECT 3');
my @lines = grep { /pgperf: plan regression/ } split /\n/, slurp_file($node->logfile, $offset);
is(scalar(@lines), 1, 'logged once');

# a new index: a faster plan, not logged (an index of the old name would
# bring back a plan the statement used before: not a change)
$offset = -s $node->logfile;
$node->safe_psql('postgres', 'CREATE INDEX rl_grp_new ON rl (grp)');
$node->safe_psql('postgres', sprintf($loop, 41, 60, 'rl'));
$node->safe_psql('postgres', q{
	SET pgperf.log_regressions = on;
	SET pgperf.log_regressions_level = warning;
	SELECT 4;
});
is($node->safe_psql('postgres',
		q{SELECT string_agg(status, ',' ORDER BY detected_at) FROM pgperf.plan_changes WHERE query LIKE 'SELECT count(*) FROM rl%'}),
	'regressed,improved', 'two changes: one regressed, one improved');
ok(!$node->log_contains(qr/pgperf: plan regression/, $offset), 'the improvement is not logged');

# the level: a regression logged as a WARNING reaches the client too
$node->safe_psql('postgres', sprintf($loop, 1, 20, 'rl2'));
$node->safe_psql('postgres', 'DROP INDEX rl2_grp');
$node->safe_psql('postgres', sprintf($loop, 21, 40, 'rl2'));
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
	SET pgperf.log_regressions = on;
	SET pgperf.log_regressions_level = warning;
	SELECT 5;
});
like($stderr, qr/WARNING:  pgperf: plan regression in query/, 'at the level asked for');

# a planner setting changed for the whole server (ALTER SYSTEM and a
# reload): the plan flips, and the regression is found the same way
$node->safe_psql('postgres', sprintf($loop, 1, 20, 'rl3'));
$node->safe_psql('postgres', "ALTER SYSTEM SET $_ = off")
  for qw(enable_indexscan enable_indexonlyscan enable_bitmapscan);
$node->reload;
$node->poll_query_until('postgres', q{SELECT current_setting('enable_bitmapscan') = 'off'});
$node->safe_psql('postgres', sprintf($loop, 21, 40, 'rl3'));
is($node->safe_psql('postgres',
		q{SELECT reason LIKE '%to Seq Scan on rl3;%'
		    FROM pgperf.regressions WHERE query LIKE 'SELECT count(*) FROM rl3%'}),
	't', 'a setting changed by ALTER SYSTEM: the flip is a regression');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET ALL');
$node->reload;

# only superusers may turn it on
$node->safe_psql('postgres', 'CREATE ROLE rl_user LOGIN');
($ret, $stdout, $stderr) = $node->psql('postgres', 'SET pgperf.log_regressions = on',
	extra_params => [ '-U', 'rl_user' ]);
like($stderr, qr/permission denied to set parameter "pgperf.log_regressions"/, 'superuser only');

$node->stop;
done_testing();
