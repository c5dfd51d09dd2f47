# Without shared_preload_libraries, pgperf installs no hooks and allocates no
# shared memory; CREATE EXTENSION still works, and every function (and every
# view, which calls one) fails with a clear error, its errcode and a hint.
# Loading the library into a session (LOAD) changes nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('no_preload');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgperf');

my @calls = (
	'SELECT * FROM pgperf.statements',
	'SELECT * FROM pgperf.plans',
	'SELECT * FROM pgperf.info',
	'SELECT * FROM pgperf.get_statements(true)',
	'SELECT * FROM pgperf.get_plans(false)',
	'SELECT pgperf.reset()',
	"LOAD 'pgperf'; SELECT * FROM pgperf.info",
);
foreach my $sql (@calls)
{
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"\\set VERBOSITY verbose\n$sql");
	isnt($ret, 0, "fails without preload: $sql");
	like($stderr, qr/ERROR:  55000: pgperf must be loaded via shared_preload_libraries/,
		"clear error with errcode 55000: $sql");
	like($stderr, qr/HINT:  Add pgperf to shared_preload_libraries in postgresql.conf and restart the server\./,
		"hint: $sql");
}

# ordinary statements are unaffected
is($node->safe_psql('postgres', 'SELECT 1 + 1'), '2', 'server works normally');

$node->stop;
done_testing();
