# pgperf.log_regressions: the regression watcher, a background worker, logs a
# plan change judged a regression once, naming the statement, both plans'
# figures and the window; a change to a faster plan is not logged.  The lines
# go to the server log only: no client receives them, whatever its
# client_min_messages and whatever the level, and the decisions rest on the
# server's settings, not on a session's.
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
pgperf.regression_check_interval = 200ms
max_parallel_workers_per_gather = 0
});
$node->start;

# the watcher runs, as a background worker
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgperf regression watcher'}),
	'the regression watcher runs');

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

# log_regressions was off: nothing logged
sleep(1);
my $offset = -s $node->logfile;
ok(!$node->log_contains(qr/pgperf: plan regression/), 'nothing logged while off');

# a session cannot turn it on: it is a server-wide setting
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'SET pgperf.log_regressions = on');
like($stderr, qr/parameter "pgperf.log_regressions" cannot be changed now/,
	'log_regressions is set for the whole server');

# on, for the server: the watcher logs it once, at LOG
$node->append_conf('postgresql.conf', 'pgperf.log_regressions = on');
$node->reload;
ok($node->wait_for_log(qr/pgperf: plan regression/, $offset), 'the watcher logs it');
ok($node->log_contains(
		qr/LOG:  pgperf: plan regression in query -?\d+ \(database \d+, role \d+\), window \d+/, $offset),
	'the regression is logged at LOG');
ok($node->log_contains(
		qr/DETAIL:  Old plan -?\d+: 20 calls, mean [\d.]+ ms, p95 [\d.]+ ms, 0 failed; new plan -?\d+: 20 calls, mean [\d.]+ ms, p95 [\d.]+ ms, 0 failed; plan changed from [^;]*rl_grp[^;]* to Seq Scan on rl; [\d.]+x slower.*Statement: SELECT count\(\*\) FROM rl WHERE grp = i/,
		$offset),
	'with both plans\' figures and what changed');

# once: later checks do not log it again
sleep(1);
my @lines = grep { /pgperf: plan regression/ } split /\n/, slurp_file($node->logfile, $offset);
is(scalar(@lines), 1, 'logged once');

# a new index: a faster plan, not logged (an index of the old name would
# bring back a plan the statement used before: not a change)
$offset = -s $node->logfile;
$node->safe_psql('postgres', 'CREATE INDEX rl_grp_new ON rl (grp)');
$node->safe_psql('postgres', sprintf($loop, 41, 60, 'rl'));
is($node->safe_psql('postgres',
		q{SELECT string_agg(status, ',' ORDER BY detected_at) FROM pgperf.plan_changes WHERE query LIKE 'SELECT count(*) FROM rl%'}),
	'regressed,improved', 'two changes: one regressed, one improved');
sleep(1);
ok(!$node->log_contains(qr/pgperf: plan regression/, $offset), 'the improvement is not logged');

# the level: a WARNING goes to the server log, and still to no client, even
# one that asks for every message
$node->append_conf('postgresql.conf', 'pgperf.log_regressions_level = warning');
$node->reload;
$node->safe_psql('postgres', 'CREATE ROLE rl_user LOGIN');
$node->safe_psql('postgres', 'GRANT SELECT ON rl2 TO rl_user');
$node->safe_psql('postgres', sprintf($loop, 1, 20, 'rl2'), extra_params => [ '-U', 'rl_user' ]);
$node->safe_psql('postgres', 'DROP INDEX rl2_grp');
$offset = -s $node->logfile;
($ret, $stdout, $stderr) = $node->psql('postgres', q{
	SET client_min_messages = debug5;
	} . sprintf($loop, 21, 40, 'rl2') . q{;
	SELECT pg_sleep(1);
	SELECT 5;
}, extra_params => [ '-U', 'rl_user' ]);
ok($node->wait_for_log(qr/WARNING:  pgperf: plan regression/, $offset), 'logged at the level asked for');
unlike($stderr, qr/pgperf: plan regression/, 'no client receives the line');

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

# the watcher survives being killed: the postmaster starts it again
my $pid = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgperf regression watcher'});
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres',
		qq{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgperf regression watcher' AND pid <> $pid}, 't'),
	'the watcher is restarted');

$node->stop;
done_testing();
