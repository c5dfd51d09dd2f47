# 001_persistence.pl: pgperf's statistics across restarts.
#
# What this proves:
#  - A clean restart (stop 'fast', then start) restores pgperf.statements,
#    pgperf.plans and pgperf.info exactly as they were: every counter, the
#    timings and percentiles, buffers and WAL, first_seen/last_seen, planids,
#    query and plan texts, the sample and its parameters, stats_since.
#  - The dump file is written by the clean stop (its header agrees with
#    pgperf.info) and removed once it has been loaded.
#  - The windows come back too; the restart closes the last one and opens a
#    'start' window, in which later executions are counted (same queryid and
#    planid as the restored entry, which is left as it was).
#  - pgperf.save = off: nothing survives a restart, and no dump is left over,
#    both when it is off at the stop and when it is off only at the start.
#  - After a crash (backend killed with SIGKILL, crash restart) no statistics
#    come back and pgperf works.
#  - After an immediate shutdown (stop 'immediate', which PostgreSQL treats
#    as a crash: recovery at the next start, cumulative statistics reset) no
#    statistics come back either (see the comment at that test).
#  - A dump loaded with a lower pgperf.max keeps at most pgperf.max entries,
#    counts the rest as evictions, and what it keeps is consistent (entries
#    with their texts, no orphan plan records, reset empties all).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('persist');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pgperf'
pgperf.track = top
# plans and counters must not depend on background activity or the machine
autovacuum = off
max_parallel_workers_per_gather = 0
jit = off
# the SIGKILL test below wants the server to reinitialize itself
restart_after_crash = on
});
$node->start;

my $dump = $node->data_dir . '/pg_stat/pgperf.stat';

# Runs SQL in a session that pgperf does not track, so that looking at the
# statistics does not change them.
sub untracked
{
	my ($sql, $db) = @_;
	return $node->safe_psql($db // 'postgres',
		"SET pgperf.track = none;\n$sql");
}

# Everything pgperf shows, as text (float8 output is exact since PG 12, so
# equal text means equal values).
sub snapshot
{
	my %s;
	$s{statements} = untracked(
		q{SELECT * FROM pgperf.statements
		  ORDER BY window_id, userid, dbid, toplevel, queryid, planid});
	$s{plans} = untracked(
		q{SELECT * FROM pgperf.plans
		  ORDER BY userid, dbid, queryid, planid});
	# text_used and text_compactions describe the text area's layout, which
	# loading rebuilds without holes; everything else must be equal.
	$s{info} = untracked(
		q{SELECT entries, max_entries, plans, queries, evictions,
				 text_live_bytes, texts_dropped, stats_since
		  FROM pgperf.info});
	# the windows, but for the end of the last (the restart closes it)
	$s{windows} = untracked(
		q{SELECT window_id, label, started_at, reason, detail
		  FROM pgperf.windows ORDER BY window_id});
	return \%s;
}

sub info_entries
{
	return untracked('SELECT entries FROM pgperf.info');
}

# ---------------------------------------------------------------------------
# Workload
# ---------------------------------------------------------------------------

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pgperf;
CREATE TABLE acct (id int PRIMARY KEY, grp int NOT NULL,
                   balance numeric NOT NULL, note text);
INSERT INTO acct SELECT g, g % 20, g * 10, repeat('n', 40)
  FROM generate_series(1, 5000) g;
CREATE TABLE grp (grp int PRIMARY KEY, name text NOT NULL);
INSERT INTO grp SELECT g, 'group ' || g FROM generate_series(0, 19) g;
ANALYZE acct;
ANALYZE grp;
});
untracked('SELECT pgperf.reset()');

$node->safe_psql(
	'postgres', q{
SELECT note FROM acct WHERE id = 1;
SELECT note FROM acct WHERE id = 2;
SELECT note FROM acct WHERE id = 3;
SELECT g.name, count(*), sum(a.balance)
  FROM acct a JOIN grp g ON g.grp = a.grp
 GROUP BY g.name ORDER BY g.name;
UPDATE acct SET balance = balance + 1 WHERE grp = 3;
PREPARE byid(int) AS SELECT note, balance FROM acct WHERE id = $1;
EXECUTE byid(17);
EXECUTE byid(18);
});

# The workload is really there, with non-trivial figures: otherwise "equal
# after restart" would prove little.
my $point = untracked(
	q{SELECT calls, rows, p50_ms IS NOT NULL AND p99_ms >= p50_ms,
	         shared_blks_hit + shared_blks_read > 0
	  FROM pgperf.statements WHERE query = 'SELECT note FROM acct WHERE id = $1'});
is($point, '3|3|t|t', 'point select: one entry, 3 calls, 3 rows, percentiles');
my $upd = untracked(
	q{SELECT calls, rows, wal_records > 0, wal_bytes > 0, shared_blks_dirtied > 0
	  FROM pgperf.statements WHERE query LIKE 'UPDATE acct%'});
is($upd, '1|250|t|t|t', 'UPDATE: 250 rows, WAL and dirtied blocks counted');
my $join = untracked(
	q{SELECT calls, rows FROM pgperf.statements WHERE query LIKE '%JOIN grp%'});
is($join, '1|20', 'join + aggregate: 20 groups');
my $params = untracked(
	q{SELECT sample_params, sample_param_types FROM pgperf.plans
	  WHERE sample_query LIKE 'PREPARE byid%'});
is($params, '{17}|{integer}', 'EXECUTE: sample parameters kept');

my $before = snapshot();
my $nentries = info_entries();
my $nplans_info = untracked('SELECT plans FROM pgperf.info');
is($nentries, 4,
	'4 entries: point select, join, UPDATE, EXECUTE (the untracked looks are not counted)');
like($before->{plans}, qr/Index Scan using acct_pkey on acct/,
	'plan texts are there');

# ---------------------------------------------------------------------------
# Clean restart: everything comes back exactly
# ---------------------------------------------------------------------------

$node->stop('fast');
ok(-f $dump, 'clean stop wrote pg_stat/pgperf.stat');

# The header (native order: magic, version, ..., then at 80 the int64 record
# counts nqueries, nplans, nentries) agrees with what pgperf.info showed.
{
	my $bytes = slurp_file($dump);
	my ($magic, $version) = unpack('L L', $bytes);
	my (undef, $nplans, $nent) = unpack('x80 q q q', $bytes);
	is(sprintf('%08x', $magic), '50475046', 'dump magic is "PGPF"');
	is($version, 6, 'dump format version 6');
	is($nent, $nentries, 'dump holds as many entries as pgperf.info showed');
	is($nplans, $nplans_info, 'dump holds as many plans as pgperf.info showed');
}

my $log_offset = -s $node->logfile;
$node->start;
ok(!-e $dump, 'dump file removed after it was loaded');
ok( $node->log_contains(
		qr/pgperf loaded $nentries statistics entries from "pg_stat\/pgperf.stat"/,
		$log_offset),
	'server log reports the load with the right number of entries');
ok(!$node->log_contains(qr/ignoring pgperf dump file/, $log_offset),
	'no warning about the dump');

my $after = snapshot();
is($after->{statements}, $before->{statements},
	'pgperf.statements identical after a clean restart');
is($after->{plans}, $before->{plans},
	'pgperf.plans identical after a clean restart');
is($after->{info}, $before->{info},
	'pgperf.info (entries, plans, queries, stats_since, ...) identical after a clean restart');
like($after->{windows}, qr/^\Q$before->{windows}\E\n\d+\|\|[^|]+\|start\|$/,
	'the windows are restored, and the restart opened a start window');
is(untracked(q{SELECT count(*) FROM pgperf.windows WHERE ended_at IS NULL}), '1',
	'only the start window is open');

# ---------------------------------------------------------------------------
# Counters keep accumulating on the restored entry
# ---------------------------------------------------------------------------

my $entry_sql = q{SELECT queryid, planid, calls, rows, total_exec_ms,
                         first_seen, last_seen
                  FROM pgperf.statements
                  WHERE query = 'SELECT note FROM acct WHERE id = $1'
                  ORDER BY window_id};
my $old_line = untracked($entry_sql);
my @old = split /\|/, $old_line;
$node->safe_psql('postgres', 'SELECT note FROM acct WHERE id = 4242');
my @lines = split /\n/, untracked($entry_sql);
is(scalar(@lines), 2, 'the restored entry, and one in the start window');
is($lines[0], $old_line, 'the restored entry is left as it was');
my @new = split /\|/, $lines[1];
is($new[0], $old[0], 'same queryid');
is($new[1], $old[1], 'same planid after the restart');
is($new[2], 1, 'one call in the start window');
is($new[3], 1, 'one row');
cmp_ok($new[5], 'gt', $old[6], 'first seen after the restart');
is(untracked(q{SELECT sum(calls) FROM pgperf.statements
               WHERE query = 'SELECT note FROM acct WHERE id = $1'}),
	$old[2] + 1, 'calls over all windows + 1');
is(info_entries(), $nentries + 1, 'one new entry, in the new window');

# ---------------------------------------------------------------------------
# pgperf.save = off
# ---------------------------------------------------------------------------

# Off at the stop: no dump is written (and none is left over).
$node->append_conf('postgresql.conf', "pgperf.save = off\n");
$node->reload;
# a new backend inherits the postmaster's settings: once it shows off, the
# postmaster (which writes the dump) has the new value
$node->poll_query_until('postgres', 'SHOW pgperf.save', 'off')
  or die 'pgperf.save did not become off';
cmp_ok(info_entries(), '>', 0, 'statistics present before the restart');
$node->stop('fast');
ok(!-e $dump, 'pgperf.save = off: no dump written at the stop');
$node->start;
is(info_entries(), '0', 'pgperf.save = off: statistics empty after restart');
is(untracked('SELECT count(*) FROM pgperf.plans'), '0', '... and no plans');

# On at the stop, off at the start: the dump is not loaded, and removed.
$node->append_conf('postgresql.conf', "pgperf.save = on\n");
$node->reload;
$node->poll_query_until('postgres', 'SHOW pgperf.save', 'on')
  or die 'pgperf.save did not become on';
$node->safe_psql('postgres', 'SELECT note FROM acct WHERE id = 5');
cmp_ok(info_entries(), '>', 0, 'statistics present before the stop');
$node->stop('fast');
ok(-f $dump, 'pgperf.save = on: dump written at the stop');
$node->append_conf('postgresql.conf', "pgperf.save = off\n");
$node->start;
is(info_entries(), '0', 'pgperf.save = off at start: dump not loaded');
ok(!-e $dump, 'pgperf.save = off at start: dump removed');

# Back on for the rest.
$node->append_conf('postgresql.conf', "pgperf.save = on\n");
$node->restart;
is(untracked('SHOW pgperf.save'), 'on', 'pgperf.save back on');

# ---------------------------------------------------------------------------
# Crash: a backend killed with SIGKILL, the postmaster reinitializes
# ---------------------------------------------------------------------------

# Statistics restored by a clean restart, then more activity: after the
# crash neither must come back (the dump was removed when it was loaded,
# and on a crash the postmaster runs the shared-memory exit callbacks with
# code 1 before reinitializing, so pgperf writes none).
$node->safe_psql('postgres', 'SELECT note FROM acct WHERE id = 6');
$node->restart;
ok(!-e $dump, 'dump loaded and removed by the clean restart');
$node->safe_psql('postgres', 'SELECT note FROM acct WHERE id = 7');
cmp_ok(info_entries(), '>', 0, 'statistics present before the crash');
my $since_before_crash = untracked('SELECT stats_since FROM pgperf.info');

$log_offset = -s $node->logfile;
my $victim = $node->background_psql('postgres');
my $pid = $victim->query_safe('SELECT pg_backend_pid()');
ok(kill('KILL', $pid), "SIGKILL sent to backend $pid");
eval { $victim->quit };    # its server side is gone; psql exits with an error
# SHOW is a utility statement: pgperf does not count it
$node->poll_query_until('postgres', 'SHOW pgperf.track', 'top')
  or die 'server did not come back after the crash';
ok( $node->log_contains(
		qr/all server processes terminated; reinitializing/, $log_offset),
	'the postmaster reinitialized after the crash');
ok(!$node->log_contains(qr/pgperf loaded/, $log_offset),
	'no dump was loaded at the crash restart');
ok(!-e $dump, 'no dump file after the crash');
is(info_entries(), '0', 'crash: statistics empty afterwards');
isnt(untracked('SELECT stats_since FROM pgperf.info'),
	$since_before_crash, 'crash: stats_since is new');
$node->safe_psql('postgres', 'SELECT note FROM acct WHERE id = 8');
is( untracked(
		q{SELECT calls FROM pgperf.statements
		  WHERE query = 'SELECT note FROM acct WHERE id = $1'}),
	'1',
	'crash: pgperf counts again from 1');

# ---------------------------------------------------------------------------
# Immediate shutdown
# ---------------------------------------------------------------------------

# "pg_ctl stop -m immediate" makes the postmaster SIGQUIT every child and,
# once they are gone, exit with status 0: that status alone does not tell a
# crash.  Shared memory that backends killed at arbitrary points may have
# left half-updated must not be saved, and PostgreSQL resets its own
# cumulative statistics whenever recovery runs at start-up ("e.g. after
# immediate shutdown, server crash"); so pgperf writes no dump unless the
# control file says the cluster was shut down cleanly (persist.c), and the
# behaviour asserted below is "statistics empty afterwards" (an earlier
# pgperf, like pg_stat_statements, did write the dump here).  The server
# itself comes up and pgperf works, which is asserted too.
$node->safe_psql('postgres', 'SELECT note FROM acct WHERE id = 9');
my $entries_before_immediate = info_entries();
cmp_ok($entries_before_immediate, '>', 0,
	'statistics present before the immediate shutdown');
$log_offset = -s $node->logfile;
$node->stop('immediate');
my $dump_after_immediate = -e $dump ? 1 : 0;
$node->start;
ok( $node->log_contains(
		qr/database system was not properly shut down; automatic recovery in progress/,
		$log_offset),
	'immediate shutdown: the server ran crash recovery');
is(untracked('SELECT 1'), '1', 'immediate shutdown: server up');
ok(!-e $dump, 'immediate shutdown: no dump file left afterwards');
is(info_entries(), '0', 'immediate shutdown: statistics empty afterwards')
  or diag(
	"a dump was "
	  . ($dump_after_immediate ? '' : 'not ')
	  . "written by the immediate shutdown; "
	  . "server log: "
	  . join(' ',
		slurp_file($node->logfile, $log_offset) =~ /(pgperf loaded[^\n]*)/g)
  );
untracked('SELECT pgperf.reset()');
$node->safe_psql('postgres', 'SELECT note FROM acct WHERE id = 10');
is( untracked(
		q{SELECT calls, rows FROM pgperf.statements
		  WHERE query = 'SELECT note FROM acct WHERE id = $1'}),
	'1|1',
	'immediate shutdown: pgperf works afterwards');

# ---------------------------------------------------------------------------
# pgperf.max lowered across a restart
# ---------------------------------------------------------------------------

# The dump holds 150 entries, each with its query record and plan record;
# the server comes back with pgperf.max = 100.  100 entries can be kept, 50
# are counted as evictions; what is kept must be consistent: each kept entry
# with its query text and plan, no plan record that no entry uses, and
# pgperf.reset() must empty everything.
#
# (An earlier load_records() capped the query records, the plan records and
# the entries at pgperf.max each on its own, so different subsets survived:
# entries without their query text, and plan records no entry used that
# pgperf.reset() never freed.  These checks catch that.)
untracked('SELECT pgperf.reset()');
$node->safe_psql('postgres',
	join('', map { 'SELECT ' . join(', ', (1) x $_) . ";\n" } 1 .. 150));
is(untracked('SELECT entries, plans, queries FROM pgperf.info'),
	'150|150|150', 'lowered max: 150 entries, plans and queries before');
$node->stop('fast');
$node->append_conf('postgresql.conf', "pgperf.max = 100\n");
$node->start;
is(untracked('SELECT entries, max_entries, evictions FROM pgperf.info'),
	'100|100|50', 'lowered max: 100 entries kept, 50 counted as evicted');
is(untracked('SELECT count(*) FROM pgperf.statements WHERE query IS NULL'),
	'0', 'lowered max: every kept entry has its query text');
is( untracked(
		q{SELECT count(*) FROM pgperf.plans p
		  WHERE NOT EXISTS (SELECT 1 FROM pgperf.statements s
		                    WHERE s.userid = p.userid AND s.dbid = p.dbid
		                      AND s.queryid = p.queryid AND s.planid = p.planid)}),
	'0',
	'lowered max: no plan record without its entry');
untracked('SELECT pgperf.reset()');
is(untracked('SELECT entries, plans FROM pgperf.info'),
	'0|0', 'lowered max: pgperf.reset() empties statements and plans');

$node->stop;
done_testing();
