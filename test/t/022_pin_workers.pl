# The pin workers of pgperf.auto_pin, on every major (with or without a
# module that enforces plans): the regression watcher starts one per
# database, one at a time, and must go on to the next database once a
# worker is done.  Its handle on the running worker lives across the
# watcher's rounds; kept in a round's memory it pointed at freed memory, and
# the watcher waited for a worker that had ended long ago (only the first
# database was ever visited) or, on an assert-enabled server, crashed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('pin_workers');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pgperf'
pgperf.regression_check_interval = 100ms
log_min_messages = debug1
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgperf');
for my $db (qw(d2 d3))
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION pgperf');
}
my @oids = split /\n/, $node->safe_psql('postgres',
	q{SELECT oid FROM pg_database WHERE datname IN ('postgres', 'd2', 'd3') ORDER BY oid});
is(scalar(@oids), 3, 'three databases with pgperf');

# the watcher lists the databases when auto_pin is turned on
my $offset = -s $node->logfile;
$node->safe_psql('postgres', 'ALTER SYSTEM SET pgperf.auto_pin = on; SELECT pg_reload_conf()');
for my $oid (@oids)
{
	ok($node->wait_for_log(
			qr/starting background worker process "pgperf pin worker for database $oid"/, $offset),
		"a pin worker visited database $oid");
}
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is up');
unlike(slurp_file($node->logfile, $offset), qr/terminated by signal|server process .* was terminated/,
	'no process crashed');

$node->stop;
done_testing();
