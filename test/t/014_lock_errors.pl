# Errors while pgperf's statistics are read: an encoding a text cannot be
# converted to, a temp_file_limit, a statement_timeout, a cancel.  Each is
# reported (or, for encodings, the text is cut where it stops converting), and
# neither that backend nor any other is left waiting on pgperf's lock: before
# the lock discipline of store.c, the first of them hung the backend for good
# and every other one behind it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('lock_errors');
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pgperf'
pgperf.track = 'all'
pgperf.max = 3000
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgperf');
$node->safe_psql('postgres',
	q{CREATE DATABASE latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0});
$node->safe_psql('latin1', 'CREATE EXTENSION pgperf');

# Nobody waits on pgperf's lock, and a new statement elsewhere completes.
sub all_go_on
{
	my ($what) = @_;
	is($node->safe_psql('postgres', q{SELECT 'still' || ' here'}), 'still here',
		"$what: another backend goes on");
	is($node->safe_psql('postgres',
			q{SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'pgperf'}),
		'0', "$what: nobody waits on pgperf's lock");
}

# texts with characters LATIN1 has no room for, and bytes of SQL_ASCII
$node->safe_psql('postgres', q{SELECT 'x' AS "€"});
$node->safe_psql('postgres', q{SELECT 1 AS "ab€cd", 'euro' AS euro});
my ($ret, $stdout, $stderr) = $node->psql('latin1',
	q{SELECT count(*) > 0 FROM pgperf.statements; SELECT 'after'});
is($ret, 0, 'a LATIN1 database reads the statistics of a UTF8 one');
like($stdout, qr/^t\nafter$/, 'and goes on');
like($node->safe_psql('latin1',
		q{SELECT string_agg(query, ' | ') FROM pgperf.statements WHERE query LIKE 'SELECT $1 AS "ab%'}),
	qr/\.\.\./, 'a text is cut where it stops converting');
all_go_on('encoding');

# many entries, so that reading them takes a while and spills to disk
$node->safe_psql('postgres', q{
	DO $$ BEGIN
	  FOR i IN 1..2000 LOOP
	    EXECUTE format('SELECT %s', repeat('1 + ', i % 400) || '1') ;
	    EXECUTE format('SELECT %s AS c', repeat('2 - ', i % 300) || '2') ;
	  END LOOP;
	END $$});

# temp_file_limit hit while the view's rows are stored
# (matched by its SQLSTATE, 53400; from 18 on the message quotes the GUC's name)
($ret, $stdout, $stderr) = $node->psql('postgres', q{
	\set VERBOSITY verbose
	SET work_mem = '64kB';
	SET temp_file_limit = '64kB';
	SELECT count(*) FROM (SELECT * FROM pgperf.statements ORDER BY query) s;
	RESET temp_file_limit;
	SELECT 'after';
}, on_error_stop => 0);
like($stderr, qr/ERROR:  53400: temporary file size exceeds "?temp_file_limit"? \(64kB\)/,
	'temp_file_limit is reported');
like($stdout, qr/after/, 'the backend goes on after temp_file_limit');
all_go_on('temp_file_limit');

# statement_timeout and a cancel while the view is read, again and again.
# The reads counted below sleep at each row: the timeout (1 s, far longer
# than planning takes on a loaded machine) and the cancel (sent once the
# backend is seen sleeping) end them in the executor, never before it.
($ret, $stdout, $stderr) = $node->psql('postgres', q{
	SET statement_timeout = '2ms';
	SELECT count(*) FROM pgperf.statements a, pgperf.statements b;
	SELECT count(*) FROM pgperf.plans a, pgperf.statements b;
	SELECT count(*) FROM pgperf.plan_changes a, pgperf.statements b;
	SET statement_timeout = '1s';
	SELECT count(*) FROM pgperf.plans a, pgperf.plans b, pgperf.plans c WHERE pg_sleep(5) IS NOT NULL;
	RESET statement_timeout;
	SELECT 'after';
}, on_error_stop => 0);
like($stderr, qr/canceling statement due to statement timeout/, 'statement_timeout is reported');
like($stdout, qr/after/, 'the backend goes on after statement_timeout');
all_go_on('statement_timeout');

my $bg = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $bg->query_safe('SELECT pg_backend_pid()');
$bg->query_until(qr/started/, q{
	\echo started
	SELECT count(*) FROM pgperf.statements a, pgperf.statements b, pgperf.statements c WHERE pg_sleep(5) IS NOT NULL;
});
$node->poll_query_until('postgres',
	qq{SELECT wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = $pid})
  or die 'the read did not start';
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
like($bg->query(q{SELECT 'after the cancel'}), qr/after the cancel/, 'the canceled backend goes on');
$bg->quit;
all_go_on('cancel');

# the failures counted on the way are stored, exactly
is($node->safe_psql('postgres', q{
	SELECT string_agg(failed_calls || ' ' || last_failure_sqlstate, ', ')
	  FROM pgperf.statements
	 WHERE query LIKE 'SELECT count(*) FROM pgperf.% a, pgperf.% b, pgperf.% c WHERE %'}),
	'1 57014, 1 57014', 'the reads a timeout or a cancel ended are counted as failures');

$node->stop;
done_testing();
