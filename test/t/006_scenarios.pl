# The cases pgperf is built for, end to end on realistic data (test/data/):
#
#  - BookWyrm, no index, cold cache then warm cache: the timeline query is
#    never reported improved (the trap of the real case); it is a
#    cache_effect where its latency changed, unchanged otherwise.
#  - BookWyrm, cache made to matter: every call of the first window reads its
#    blocks (a 72 MB scan through the bulk-read ring of a 128 MB
#    shared_buffers); after a restart with a bigger shared_buffers and
#    pg_prewarm every block is a hit.  Same plan: cache_effect (or unchanged
#    where the reads cost too little to move the time), never improved.
#  - BookWyrm, the index from the real case: improved, plan_changed, and the
#    reason names the index.
#  - Channable: the 1% UPDATE after a unique index on the URL column is
#    regressed, the reason naming the extra write work (WAL, dirtied blocks).
#  - Open Library: the things of one author, one datum row per block, read
#    by a bitmap heap scan.  CLUSTER puts them together: the same plan reads
#    a few blocks instead of 200, and the reason says the data (or the
#    parameter values) changed, not the plan.  ANALYZE afterwards sees the new order and the plan changes to
#    an index scan: a plan change; the manual ANALYZE opens a window (or,
#    within pgperf.ddl_window_interval of CLUSTER's, joins it).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('scenarios');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pgperf'
max_parallel_workers_per_gather = 0
shared_buffers = 512MB
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgperf');
$node->safe_psql('postgres', 'CREATE EXTENSION pg_prewarm');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
	  '-f', 'test/data/bookwyrm.sql' ],
	'BookWyrm-like data loaded');

# Runs the timeline query 'n' times, one client, a random viewer each time.
sub timeline
{
	my ($n) = @_;
	$node->command_ok(
		[ 'pgbench', '-n', '-M', 'prepared', '-s', '1', '-t', $n,
		  '-f', 'test/data/bookwyrm_timeline.sql', '-d', $node->connstr('postgres') ],
		"timeline query x $n");
}

# Returns verdict|plan_changed|reason of the timeline query in compare(b, a).
sub timeline_verdict
{
	my ($b, $a, $settings) = @_;
	$settings //= '';
	return $node->safe_psql('postgres', qq{
		SET pgperf.track = none;
		$settings
		SELECT verdict || '|' || plan_changed || '|' || reads_per_call_before || '|' ||
		       reads_per_call_after || '|' || reason
		  FROM pgperf.compare($b, $a) WHERE query LIKE '%FROM bookwyrm_status s%'});
}

# 1. Cold, then warm, no index: never improved.
$node->restart;    # a cold shared_buffers, and a 'start' window
timeline(40);
$node->safe_psql('postgres', q{SELECT pgperf.mark('warm')});
timeline(40);
my $r = timeline_verdict('NULL', 'NULL');
note "cold -> warm: $r";
my ($verdict, $changed) = split /\|/, $r;
isnt($verdict, 'improved', 'cold then warm cache: not reported improved');
is($changed, 'false', 'cold then warm cache: same plan');
# faster: the cache; no significant change: unchanged; slower (the machine
# was busier in the warm window): a load effect, not credited to anything
like($r,
	qr/^(cache_effect\|.*explained by the cache|unchanged\|.*no significant change|load_effect\|.*same plan, same work.*not the change's doing)/,
	'cold then warm cache: a cache effect, no change, or a load effect credited to nothing');

# 2. Every call reads, then every call hits.  Reads from the operating
# system's page cache cost little (a few percent of the query at most), so
# the comparison is asked to report changes from 2% on; whether the time
# moves significantly still depends on the machine: the verdict is a cache
# effect when it gets faster, unchanged when it does not move, and never
# improved.  The rule itself, with figures that make the time move, is
# unit-tested (test/unit/test_verdict.c).
$node->append_conf('postgresql.conf', 'shared_buffers = 128MB');
$node->restart;
$node->safe_psql('postgres', q{SELECT pgperf.mark('reads')});
timeline(100);
$node->append_conf('postgresql.conf', 'shared_buffers = 512MB');
$node->restart;
$node->safe_psql('postgres', q{SELECT pg_prewarm('bookwyrm_status'), pg_prewarm('bookwyrm_user')});
$node->safe_psql('postgres', q{SELECT pgperf.mark('hits')});
timeline(100);
$r = timeline_verdict("'reads'", "'hits'", 'SET pgperf.compare_min_change = 0.02;');
note "reads -> hits: $r";
my ($v2, $c2, $rd_b, $rd_a) = split /\|/, $r;
cmp_ok($rd_b, '>', 1000, 'the first window read its blocks');
cmp_ok($rd_a, '<', 10, 'the second window found them cached');
is($c2, 'false', 'same plan in both');
isnt($v2, 'improved', 'reads turned into hits: never improved');
like($r,
	qr/^(cache_effect\|.*explained by the cache: reads per call fell|unchanged\|.*no significant change|load_effect\|.*same plan, same work.*not the change's doing)/,
	'a cache effect, no change, or a load effect credited to nothing, and the reason says which');

# 3. The index of the real case: improved, plan changed, the index named.
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
	  '-f', 'test/data/bookwyrm_index.sql' ],
	'the index is created');
timeline(40);
$r = timeline_verdict("'hits'", 'NULL');
note "index: $r";
my ($v3, $c3, undef, undef, $reason3) = split /\|/, $r;
is($v3, 'improved', 'with the index: improved');
is($c3, 'true', 'with the index: plan changed');
like($reason3, qr/plan changed from Seq Scan on bookwyrm_status s to .*bookwyrm_status_privacy_performance_idx/,
	'the reason names the index');
like($node->safe_psql('postgres', q{SELECT detail FROM pgperf.windows ORDER BY window_id DESC LIMIT 1}),
	qr/^CREATE INDEX bookwyrm_status_privacy_performance_idx/, 'the index opened a window');

# 4. Channable: a unique index on the URL makes the 1% update write more.
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
	  '-f', 'test/data/channable.sql' ],
	'Channable-like data loaded');
$node->safe_psql('postgres', q{SELECT pgperf.mark('no url index')});
$node->command_ok(
	[ 'pgbench', '-n', '-M', 'prepared', '-t', '20',
	  '-f', 'test/data/channable_update.sql', '-d', $node->connstr('postgres') ],
	'1% update x 20');
$node->safe_psql('postgres', q{CREATE UNIQUE INDEX unique_image_link ON image_links (image_link)});
$node->command_ok(
	[ 'pgbench', '-n', '-M', 'prepared', '-t', '20',
	  '-f', 'test/data/channable_update.sql', '-d', $node->connstr('postgres') ],
	'1% update x 20, with the unique index');
$r = $node->safe_psql('postgres', q{
	SET pgperf.track = none;
	SELECT verdict || '|' || plan_changed || '|' || (blks_per_call_after > 1.25 * blks_per_call_before)
	       || '|' || reason
	  FROM pgperf.compare('no url index', NULL) WHERE query LIKE 'UPDATE image_links%'});
note "channable: $r";
my ($v4, $c4, $more, $reason4) = split /\|/, $r;
is($v4, 'regressed', 'the update after the URL index: regressed');
is($c4, 'false', 'its plan did not change');
is($more, 'true', 'it touches over a quarter more blocks per call');
like($reason4, qr/more write work: .*WAL per call .* -> .*blocks dirtied per call/,
	'the reason names the extra WAL and dirtied blocks');

# 5. Open Library: the same plan, far fewer blocks, after CLUSTER; then a
# new plan after ANALYZE.  Simple protocol: every execution is planned with
# its author, and the statistics (from every row) make it a bitmap heap scan
# for each of them.
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
	  '-f', 'test/data/openlibrary.sql' ],
	'Open Library-like data loaded');
sub author_query
{
	my ($what) = @_;
	$node->command_ok(
		[ 'pgbench', '-n', '-t', '100', '-f', 'test/data/openlibrary_author.sql',
		  '-d', $node->connstr('postgres') ],
		"author query x 100, $what");
}
sub author_compare
{
	my ($b, $a) = @_;
	return $node->safe_psql('postgres', qq{
		SET pgperf.track = none;
		SELECT verdict || '|' || plan_changed || '|' || round(blks_per_call_before) || '|' ||
		       round(blks_per_call_after) || '|' || reason
		  FROM pgperf.compare($b, $a) WHERE query LIKE '%FROM datum d0%'});
}
$node->safe_psql('postgres', q{SELECT pgperf.mark('scattered')});
author_query('rows scattered');
$node->safe_psql('postgres', q{CLUSTER datum USING datum_key_value_idx});
my $clustered = $node->safe_psql('postgres', q{
	SELECT window_id FROM pgperf.windows WHERE reason = 'ddl' AND detail LIKE 'CLUSTER datum%'});
like($clustered, qr/^\d+$/, 'CLUSTER opened a window');
author_query('rows together');
$r = author_compare("'scattered'", 'NULL');
note "open library, CLUSTER: $r";
my ($v5, $c5, $bb5, $ba5, $reason5) = split /\|/, $r;
is($c5, 'false', 'after CLUSTER: the same plan');
cmp_ok($bb5, '>=', 200, 'scattered: a block per row (200 rows)');
cmp_ok($ba5 * 10, '<', $bb5, 'together: a tenth of the blocks or fewer');
is($v5, 'improved', 'after CLUSTER: improved');
like($reason5, qr/^same plan; .*blocks per call \d+ -> [\d.]+: the same plan does less work per call: the data \(its size, layout or distribution\) or the parameter values changed, not the plan$/,
	'the reason says the data or the parameters changed, not the plan');

my $analyzed = $node->safe_psql('postgres', q{ANALYZE datum; SELECT pgperf.mark('analyzed')});
author_query('after ANALYZE');
$r = author_compare($clustered, $analyzed);
note "open library, ANALYZE: $r";
my ($v6, $c6, undef, undef, $reason6) = split /\|/, $r;
is($c6, 'true', 'after ANALYZE: the plan changed');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM pgperf.windows
	 WHERE window_id >= $clustered
	   AND ((reason = 'analyze' AND detail = 'ANALYZE datum')
	        OR (reason = 'ddl' AND detail LIKE 'CLUSTER datum% (and 1 more)'))}),
	'1', 'the manual ANALYZE opened a window, or joined the one CLUSTER opened');
like($reason6, qr/plan changed from Bitmap Heap Scan on datum d0 and Bitmap Index Scan on datum_key_value_idx to Index Scan using datum_key_value_idx on datum d0/,
	'the reason names the old and the new plan');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgperf.plan_changes WHERE query LIKE '%FROM datum d0%' AND still_current}),
	'1', 'the change is in pgperf.plan_changes');

$node->stop;
done_testing();
