# Counters are exact under concurrency: several pgbench clients run a known
# number of transactions, and pgperf's calls for each statement equal what
# pgbench reports, to the unit, with the same rows; the histogram holds one
# count per call.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('concurrency');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgperf'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgperf');
$node->safe_psql('postgres', q{
	CREATE TABLE acc (id int PRIMARY KEY, balance int NOT NULL DEFAULT 0);
	INSERT INTO acc SELECT g FROM generate_series(1, 1000) g;
});
$node->safe_psql('postgres', 'SELECT pgperf.reset()');

my ($clients, $xacts) = (4, 500);
$node->pgbench(
	"--no-vacuum --client=$clients --jobs=2 --transactions=$xacts --protocol=prepared",
	0,
	[qr{number of transactions actually processed: 2000/2000}],
	[qr{^$}],
	'pgbench: 4 clients x 500 transactions',
	{
		'005_concurrency' => q{
\set id random(1, 1000)
UPDATE acc SET balance = balance + 1 WHERE id = :id;
SELECT balance FROM acc WHERE id = :id;
}
	});

my $total = $clients * $xacts;
is($node->safe_psql('postgres',
		"SELECT sum(calls) FROM pgperf.statements WHERE query LIKE 'UPDATE acc%'"),
	$total, "UPDATE counted exactly $total times");
is($node->safe_psql('postgres',
		"SELECT sum(calls) || ' ' || sum(rows) FROM pgperf.statements WHERE query LIKE 'SELECT balance FROM acc%'"),
	"$total $total", "SELECT counted exactly $total times, one row each");
# every increment landed, so every UPDATE ran: the table agrees with pgperf
is($node->safe_psql('postgres', 'SELECT sum(balance) FROM acc'),
	$total, 'the table agrees');
# one histogram count per call: p100 exists and percentiles are ordered
is($node->safe_psql('postgres', q{
	SELECT bool_and(p50_ms <= p95_ms AND p95_ms <= p99_ms AND p99_ms <= max_exec_ms)
	  FROM pgperf.statements WHERE query LIKE '%acc%'}),
	't', 'percentiles ordered');

$node->stop;
done_testing();
