# try_index() on the scenario data (test/data/), end to end:
#
#  - BookWyrm (400,000 statuses): the index from the real case, tried on the
#    captured timeline workload, is judged improved for the timeline query:
#    its plan changes to one that uses the index, and reads far fewer blocks.
#  - Channable (200,000 image links, with the composite index on
#    download_after, referenced_at): a unique index on image_link makes the
#    1% UPDATE of download_after write more WAL and dirty more blocks per
#    execution, and is judged regressed; the md5(image_link)::uuid
#    expression index costs the same UPDATE less WAL and fewer blocks than
#    the URL index.
#  - After every trial the database is exactly as before: a checksum of the
#    table's rows, of pg_class and of pg_index.
# The cluster runs with wal_level = replica, as a production primary does
# (the test default, minimal, writes no WAL for an index built in the same
# transaction, so its maintenance could not be seen).  Times are never asserted; the improved verdict rests on a 5x plan change
# with every run of one side faster than every run of the other.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('try_index');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pgperf'
max_parallel_workers_per_gather = 0
shared_buffers = 256MB
autovacuum = off
max_wal_size = 4GB
wal_level = replica
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgperf');
for my $f ('bookwyrm.sql', 'channable.sql')
{
	$node->command_ok(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
		  '-f', "test/data/$f" ],
		"$f loaded");
}

# Returns a checksum of the table's rows, pg_class and pg_index (not
# captured: it would be a candidate of the trials).
sub state_of
{
	my ($table) = @_;
	return $node->safe_psql('postgres', qq{
		SET pgperf.track = none;
		SELECT md5(concat_ws('|',
		  (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM $table t),
		  (SELECT md5(string_agg(c::text, ',' ORDER BY c.oid)) FROM pg_class c
		    WHERE c.relnamespace = 'public'::regnamespace),
		  (SELECT md5(string_agg(i::text, ',' ORDER BY i.indexrelid)) FROM pg_index i)))});
}

# Runs try_index(ddl) and returns its rows as hashes, keyed by query prefix.
sub trial
{
	my ($ddl) = @_;
	my $out = $node->safe_psql('postgres', qq{
		SET client_min_messages = warning;
		SELECT concat_ws('|', left(regexp_replace(query, '\\s+', ' ', 'g'), 40), kind,
		                 plan_changed, uses_index, blks_before, blks_after,
		                 wal_bytes_before, wal_bytes_after, dirtied_before,
		                 dirtied_after, verdict, reason)
		  FROM pgperf.try_index(\$ddl\$$ddl\$ddl\$)});
	my %rows;
	for my $line (split /\n/, $out)
	{
		my @f = split /\|/, $line, 12;
		$rows{ $f[0] } = {
			kind => $f[1], plan_changed => $f[2], uses_index => $f[3],
			blks_before => $f[4], blks_after => $f[5],
			wal_before => $f[6], wal_after => $f[7],
			dirtied_before => $f[8], dirtied_after => $f[9],
			verdict => $f[10], reason => $f[11] };
	}
	return \%rows;
}

# Only the workloads below are candidates, not the loaders' statements.
$node->safe_psql('postgres', 'SELECT pgperf.reset()');

# 1. BookWyrm: the timeline query, captured from the workload.
$node->command_ok(
	[ 'pgbench', '-n', '-M', 'prepared', '-s', '1', '-t', '20',
	  '-f', 'test/data/bookwyrm_timeline.sql', '-d', $node->connstr('postgres') ],
	'timeline workload');
my $before = state_of('bookwyrm_status');
my $rows = trial(q{CREATE INDEX bookwyrm_status_privacy_performance_idx
    ON bookwyrm_status (deleted, privacy, published_date DESC) WHERE deleted = false});
my ($timeline) = grep { /^SELECT s\.id, s\.user_id/ } keys %$rows;
ok(defined $timeline, 'the timeline query is a candidate');
my $r = $rows->{ $timeline // '' } // {};
is($r->{kind}, 'read', 'timeline: a read');
is($r->{plan_changed}, 't', 'timeline: plan changed');
is($r->{uses_index}, 't', 'timeline: the new plan uses the index');
cmp_ok($r->{blks_after} // 0, '<', ($r->{blks_before} // 0) / 5,
	'timeline: five times fewer blocks per run');
is($r->{verdict}, 'improved', 'timeline: improved')
  or diag("reason: " . ($r->{reason} // ''));
is(state_of('bookwyrm_status'), $before, 'BookWyrm: database exactly as before');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_class WHERE relname = 'bookwyrm_status_privacy_performance_idx'}),
	'0', 'BookWyrm: the index is gone');

# 2. Channable: the 1% UPDATE, a different hundredth each time.
$node->command_ok(
	[ 'pgbench', '-n', '-t', '5', '-f', 'test/data/channable_update.sql',
	  '-d', $node->connstr('postgres') ],
	'1% update workload');
$before = state_of('image_links');
my $url = trial('CREATE UNIQUE INDEX unique_image_link ON image_links (image_link)');
my ($update) = grep { /^UPDATE image_links/ } keys %$url;
ok(defined $update, 'the UPDATE is a candidate');
$r = $url->{ $update // '' } // {};
is($r->{kind}, 'write', 'UPDATE: a write');
is($r->{plan_changed}, 'f', 'UPDATE: same plan');
cmp_ok($r->{wal_after} // 0, '>', $r->{wal_before} // 0, 'URL index: more WAL per UPDATE');
cmp_ok($r->{dirtied_after} // 0, '>', $r->{dirtied_before} // 0,
	'URL index: more blocks dirtied per UPDATE');
is($r->{verdict}, 'regressed', 'URL index: the UPDATE regressed')
  or diag("reason: " . ($r->{reason} // ''));
like($r->{reason} // '', qr/must maintain the index.*WAL bytes/,
	'URL index: the reason names the write work');
is(state_of('image_links'), $before, 'Channable, URL index: database exactly as before');

my $md5 = trial('CREATE UNIQUE INDEX unique_image_link_md5 ON image_links ((md5(image_link)::uuid))');
my $m = $md5->{ $update // '' } // {};
cmp_ok($m->{wal_after} // 0, '>', $m->{wal_before} // 0, 'md5 index: still some WAL to maintain it');
cmp_ok(($m->{wal_after} // 0) - ($m->{wal_before} // 0), '<',
	(($r->{wal_after} // 0) - ($r->{wal_before} // 0)) / 2,
	'md5 index: less than half the URL index\'s extra WAL per UPDATE');
cmp_ok($m->{blks_after} // 0, '<', $r->{blks_after} // 0,
	'md5 index: fewer blocks per UPDATE than the URL index');
is(state_of('image_links'), $before, 'Channable, md5 index: database exactly as before');

# 3. Nothing the trials replayed was counted as a statement.
is($node->safe_psql('postgres', q{
	SELECT sum(calls) FROM pgperf.statements WHERE query LIKE 'UPDATE image_links%'}),
	'5', 'the UPDATE counted 5 times: its replays were not');

$node->stop;
done_testing();
