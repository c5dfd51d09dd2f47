# Findings of a red-team review that need a server of their own:
#  - a replay that catches the cancel ends the session a few seconds past
#    its limit, instead of holding try_index(), its lock and the session;
#  - a trial's table lock lasts until the caller's transaction ends: another
#    session's CREATE INDEX waits (it would lose relhasindex otherwise);
#  - one role's storm of plan changes does not push another's out;
#  - a statement parsed before a SET backslash_quote (or, before 19,
#    standard_conforming_strings) of the same message, which does not lex
#    again under the new setting, still runs, its text kept as written.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('redteam');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pgperf'
pgperf.max_plan_changes = 20
max_parallel_workers_per_gather = 0
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pgperf;
	CREATE ROLE bob LOGIN;
	CREATE ROLE alice LOGIN;
	CREATE TABLE orders (id int PRIMARY KEY, amount int);
	INSERT INTO orders SELECT g, g % 100 FROM generate_series(1, 5000) g;
	VACUUM ANALYZE orders;
	GRANT SELECT ON orders TO bob;
	GRANT CREATE ON SCHEMA public TO bob, alice;
	SELECT pgperf.reset();
});

# 1. bob's function, replayed, catches every cancel and loops
$node->safe_psql('postgres', q{
	CREATE FUNCTION stubborn() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
	BEGIN
	  IF session_user <> 'bob' THEN
	    LOOP
	      BEGIN PERFORM pg_sleep(0.2); EXCEPTION WHEN query_canceled THEN NULL; END;
	    END LOOP;
	  END IF;
	  RETURN true;
	END $$;
	ALTER FUNCTION stubborn() OWNER TO bob;
});
$node->safe_psql('postgres', 'SELECT count(*) FROM orders WHERE stubborn()',
	extra_params => [ '-U', 'bob' ]);
my $offset = -s $node->logfile;
my $start = time();
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
	SET pgperf.trial_statement_timeout = 500;
	SET pgperf.trial_time_budget = 2000;
	SELECT * FROM pgperf.try_index('CREATE INDEX ON orders (amount)');
}, timeout => 120);
my $took = time() - $start;
cmp_ok($took, '<', 60, "the stubborn replay is stopped ($took s), not left to run forever");
like($stderr, qr/terminat|server closed the connection/i, 'by ending its session');
ok($node->wait_for_log(qr/pgperf: try_index\(\) ended its session: a replayed statement did not stop when canceled/, $offset),
	'the reason is in the log');
is($node->safe_psql('postgres', q{
	SET lock_timeout = '2s'; INSERT INTO orders VALUES (100000, 1); SELECT 'written'}),
	'written', 'the table lock went with the session');

# 2. the lock lasts until the caller's transaction ends
$node->safe_psql('postgres', 'DROP FUNCTION stubborn() CASCADE');
$node->safe_psql('postgres', 'SELECT pgperf.reset()');
$node->safe_psql('postgres', 'SELECT count(*) FROM orders WHERE amount = 3');
my $trial = $node->background_psql('postgres');
$trial->query_safe(q{SET client_min_messages = warning});
$trial->query_safe(q{BEGIN; SELECT count(*) >= 0 FROM pgperf.try_index('CREATE INDEX ON orders (amount)', 1)});
($ret, $stdout, $stderr) = $node->psql('postgres', q{
	SET lock_timeout = '300ms'; CREATE INDEX orders_other ON orders (id, amount)});
like($stderr, qr/canceling statement due to lock timeout/,
	'another session\'s CREATE INDEX waits for the trial\'s transaction');
$trial->query_safe('COMMIT');
$trial->quit;
$node->safe_psql('postgres', 'CREATE INDEX orders_other ON orders (id, amount)');
is($node->safe_psql('postgres', q{SELECT relhasindex FROM pg_class WHERE relname = 'orders'}),
	't', 'relhasindex is right afterwards');

# 3. bob's plan change survives alice's storm of them
$node->safe_psql('postgres', 'SELECT pgperf.reset()');
$node->safe_psql('postgres', q{
	CREATE TABLE bobs (id int, grp int);
	INSERT INTO bobs SELECT g, g % 50 FROM generate_series(1, 20000) g;
	CREATE INDEX bobs_grp ON bobs (grp);
	VACUUM ANALYZE bobs;
	ALTER TABLE bobs OWNER TO bob;
});
$node->safe_psql('postgres', q{
	SELECT count(*) FROM bobs WHERE grp = 3;
	SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;
	SELECT count(*) FROM bobs WHERE grp = 3;
}, extra_params => [ '-U', 'bob' ]);
# alice: 60 statements, each with two plans
$node->safe_psql('postgres', q{
	CREATE TABLE alices (id int, grp int);
	INSERT INTO alices SELECT g, g % 50 FROM generate_series(1, 20000) g;
	CREATE INDEX alices_grp ON alices (grp);
	VACUUM ANALYZE alices;
	ALTER TABLE alices OWNER TO alice;
});
$node->safe_psql('postgres', q{
	DO $$ BEGIN
	  FOR i IN 1..60 LOOP
	    EXECUTE format('SELECT count(*) FROM alices WHERE grp = 3 AND id > %s', repeat('1 + ', i) || '0');
	  END LOOP;
	  SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_indexonlyscan = off;
	  FOR i IN 1..60 LOOP
	    EXECUTE format('SELECT count(*) FROM alices WHERE grp = 3 AND id > %s', repeat('1 + ', i) || '0');
	  END LOOP;
	END $$;
}, extra_params => [ '-U', 'alice' ]);
$node->safe_psql('postgres', 'SET pgperf.track = none');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgperf.plan_changes WHERE userid = 'bob'::regrole}),
	'1', 'bob\'s plan change is still kept');
cmp_ok($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgperf.plan_changes WHERE userid = 'alice'::regrole}),
	'<=', 10, 'alice holds at most half of the ring');

# 4. a statement that lexes differently once the setting has changed: both
# sent as one message (psql -c), so the SELECT was parsed before the SET ran
sub unlexable
{
	my ($set, $select, $what) = @_;
	my ($stdout, $stderr) = run_command(
		[ 'psql', '-X', '-A', '-t', '-d', $node->connstr('postgres'),
		  '-c', "$set; $select" ]);
	is($stderr, '', "$what: the statement runs");
	like($stdout, qr/\|1$/m, "$what: and returns its row");
	is($node->safe_psql('postgres',
		"SELECT query FROM pgperf.statements WHERE query LIKE '%AS one_%'"),
		$select, "$what: its text is kept as written");
	$node->safe_psql('postgres', 'SELECT pgperf.reset()');
}
unlexable(q{SET backslash_quote = off}, q{SELECT E'it\\'s', 1 AS one_a},
	'backslash_quote');
my $major = $node->safe_psql('postgres', 'SHOW server_version_num') / 10000;
if ($major < 19)
{
	unlexable(q{SET standard_conforming_strings = off}, q{SELECT 'C:\\', 1 AS one_b},
		'standard_conforming_strings');
}

$node->stop;
done_testing();
