# What report() and compare() say where time alone moved:
#  - Funkwhale, master against a patch under a fixed-duration load: both
#    windows spend about the same execution time; the report says the patch
#    served more calls per second, at less time per call, and which
#    statements carry that; pgperf's own statements are not in it.
#  - BookWyrm's trap with load instead of cache: the same plan doing the
#    same work, slower while other sessions load the CPU.  It is never
#    credited to anything: load_effect (or unchanged), never improved or
#    regressed, and report() lists it apart.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('report_scenarios');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pgperf'
max_parallel_workers_per_gather = 0
pgperf.compare_min_calls = 10
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgperf');

# Runs 'script' with pgbench, one client, for 'secs' seconds.
sub load
{
	my ($script, $secs, $name) = @_;
	my $file = $node->basedir . "/$name.sql";
	open my $fh, '>', $file or die;
	print $fh $script;
	close $fh;
	$node->command_ok(
		[ 'pgbench', '-n', '-T', $secs, '-f', $file, '-d', $node->connstr('postgres') ],
		"$name for $secs s");
}

# 1. master, then the patch: each request one statement, 20 ms on master,
# 5 ms with the patch (another statement), the same 3 s of load
$node->safe_psql('postgres', q{SELECT pgperf.mark('master')});
load("SELECT pg_sleep(0.02) AS master_request, 1 AS one;\n", 3, 'master');
$node->safe_psql('postgres', q{SELECT pgperf.mark('patch')});
load("SELECT pg_sleep(0.005) AS patch_request;\n", 3, 'patch');
my $report = $node->safe_psql('postgres', q{SELECT pgperf.report('master', 'patch')});
note $report;
my ($before) = $report =~ /^  before: ([^\n]*calls[^\n]*)$/m;
my ($after) = $report =~ /^  after:  ([^\n]*calls[^\n]*)$/m;
ok(defined $before && defined $after, 'the report has a workload line per side');
my ($rate_b) = $before =~ /calls \(([\d.]+)\/s/;
my ($rate_a, $rate_pct) = $after =~ /calls \(([\d.]+)\/s, ([+-]\d+)%\)/;
cmp_ok($rate_a, '>', 2 * $rate_b, 'the patch serves more calls per second');
cmp_ok($rate_pct, '>', 100, 'and says by how much');
like($after, qr/ per call \(-\d+%\)$/, 'at less time per call');
like($report, qr/Carried by.*\n  1\. SELECT pg_sleep\(\$1\) AS (master|patch)_request/,
	'the statements that carry the difference are named');
unlike($report, qr/pgperf\./, 'pgperf\'s own statements are left out');

# 2. the same work, under load and then without it
$node->safe_psql('postgres', q{
	CREATE TABLE busy AS SELECT g AS id, g % 1000 AS v, md5(g::text) AS pad
	  FROM generate_series(1, 200000) g;
	VACUUM ANALYZE busy;
	SELECT count(*) FROM busy;
});
my $query = "SELECT count(*) FROM busy WHERE v % 7 = 3 AND pad > '8';\n";
$node->safe_psql('postgres', q{SELECT pgperf.mark('loaded')});
my @burners;
for my $i (1 .. 3)
{
	my $h = $node->background_psql('postgres', on_error_stop => 0);
	$h->query_until(qr/burning/, q{
		\echo burning
		SELECT count(*) FROM generate_series(1, 2000000000);
	});
	push @burners, $h;
}
load($query, 4, 'loaded');
$node->safe_psql('postgres', q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	WHERE query LIKE '%generate_series(1, 2000000000)%' AND pid <> pg_backend_pid()});
eval { $_->quit } for @burners;
$node->safe_psql('postgres', q{SELECT pgperf.mark('quiet')});
load($query, 4, 'quiet');

my $r = $node->safe_psql('postgres', q{
	SELECT verdict || '|' || plan_changed || '|' || round(blks_per_call_before) || '|' ||
	       round(blks_per_call_after) || '|' || speedup || '|' || reason
	  FROM pgperf.compare('loaded', 'quiet') WHERE query LIKE '%FROM busy%'});
note "loaded -> quiet: $r";
my ($v, $changed, $bb, $ba) = split /\|/, $r;
is($changed, 'false', 'the same plan');
is($bb, $ba, 'the same blocks per call');
like($v, qr/^(load_effect|unchanged)$/, 'the load is never credited: load_effect or unchanged');
like($r, qr/not the change's doing/, 'a load effect says it is not the change\'s doing')
  if $v eq 'load_effect';
$report = $node->safe_psql('postgres', q{SELECT pgperf.report('loaded', 'quiet')});
unlike($report, qr/Improved \(most time saved first\):\n  1\. SELECT count\(\*\) FROM busy/,
	'report() does not list it as improved');
like($report, qr/Load effects \(same plan, same work, same reads.*\n  1\. SELECT count\(\*\) FROM busy/,
	'report() lists it among the load effects')
  if $v eq 'load_effect';

$node->stop;
done_testing();
