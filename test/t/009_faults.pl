# 009_faults.pl: pgperf through faults: a backend killed mid-statement, an
# immediate shutdown, and a streaming standby.
#
# What this proves (001_persistence.pl already covers an idle backend killed
# and the statistics being empty after a crash or an immediate shutdown;
# 002_dump_file.pl covers corrupt and foreign dump files at a clean start;
# neither is repeated here):
#
#  (a) A backend SIGKILLed in the middle of a statement (inside pg_sleep,
#      nested in a function, after pgperf had captured the function's first
#      statement): the postmaster reinitializes, and
#       - a dump left over from an earlier clean shutdown is NOT loaded at the
#         crash restart (pg_control does not say "shut down"): pgperf logs that
#         it ignores it and removes it; the counters captured before the
#         crash are gone (shared memory is created anew), pgperf.info shows a
#         new, empty state (0 entries/plans/queries/evictions, text area
#         empty, one 'start' window with id 1, a new stats_since);
#       - pgperf counts a fresh statement run N times exactly (N calls, N
#         rows, one plan), in the new start window;
#       - the crash restart registered the dump callback again: a later clean
#         restart saves and loads the post-crash statistics.
#  (b) An immediate shutdown (with a statement running): no dump is written
#      at that stop (pgperf logs why), start-up shows no WARNING, ERROR,
#      FATAL or PANIC (nothing from pgperf at all but its start), and pgperf
#      counts exactly afterwards.
#  (c) A streaming standby with pgperf preloaded (the extension created on
#      the primary, replicated): the standby captures its own read-only
#      workload (N calls there; the primary counts only its own M calls of the
#      same statement, under the same queryid); pgperf.mark() and
#      pgperf.reset() work on the standby (they only touch shared memory); a
#      clean restart of the standby saves and reloads its statistics; an
#      immediate stop of the standby writes no dump.
#  After every fault: the server log has no PANIC and no child process
#  terminated by a signal or exit code other than the one SIGKILL sent here.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $conf = qq{
shared_preload_libraries = 'pgperf'
pgperf.track = top
# plans and counters must not depend on background activity or the machine
autovacuum = off
max_parallel_workers_per_gather = 0
jit = off
restart_after_crash = on
};

my $node = PostgreSQL::Test::Cluster->new('faults');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', $conf);
$node->start;

# How the postmaster names a client backend when it logs the backend's exit:
# "server process" up to PostgreSQL 17, its backend type from 18 on.
my $major = int($node->safe_psql('postgres', 'SHOW server_version_num') / 10000);
my $backend_desc = $major >= 18 ? 'client backend' : 'server process';
note "PostgreSQL $major: a backend's exit is logged as \"$backend_desc (PID n)\"";

sub dump_path
{
	my ($n) = @_;
	return $n->data_dir . '/pg_stat/pgperf.stat';
}
my $dump = dump_path($node);

# Runs SQL on 'n' in a session pgperf does not track.
sub untracked
{
	my ($n, $sql) = @_;
	return $n->safe_psql('postgres', "SET pgperf.track = none;\n$sql");
}

# The server log of 'n' from byte 'offset' on.
sub log_since
{
	my ($n, $offset) = @_;
	return slurp_file($n->logfile, $offset);
}

# No PANIC in the log since 'offset', and the only child processes that died
# abnormally are the client backends in 'killed' (each by signal 9).  Any
# process the postmaster reports (whatever it calls it: the names differ by
# major) as ended by a signal or an exception, or with an exit code above 1,
# counts.
sub no_other_crash
{
	my ($n, $offset, $what, @killed) = @_;
	my $log = log_since($n, $offset);
	ok($log !~ /PANIC/, "$what: no PANIC in the server log");
	my @abnormal =
	  $log =~ /LOG:  (\S[^\n]*? \(PID \d+\) (?:was terminated by (?:signal|exception) \d+|exited with exit code (?:[2-9]|[1-9]\d+)\b))/g;
	my @expected =
	  map { "$backend_desc (PID $_) was terminated by signal 9" } @killed;
	is_deeply(\@abnormal, \@expected,
		$what . ': no process terminated abnormally'
		  . (@killed ? ' but the one killed here' : ''))
	  or diag(join("\n", @abnormal));
	return;
}

# Runs 'sql' 'n' times in one session with the constants 1..n put in
# place of '%d'.
sub run_n
{
	my ($n, $times, $sql) = @_;
	$n->safe_psql('postgres',
		join('', map { sprintf($sql, $_) . ";\n" } 1 .. $times));
	return;
}

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pgperf;
CREATE TABLE ft (id int PRIMARY KEY, v text NOT NULL);
INSERT INTO ft SELECT g, 'v' || g FROM generate_series(1, 2000) g;
ANALYZE ft;
CREATE FUNCTION faults_slow() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM count(*) FROM ft WHERE v LIKE 'v1%';
  PERFORM pg_sleep(600);
END $$;
});

# ---------------------------------------------------------------------------
# (a) SIGKILL in the middle of a statement
# ---------------------------------------------------------------------------

# A dump from a clean shutdown, kept aside: loading it removes it, so it is
# put back later as a leftover that a crash restart must not load.
run_n($node, 3, 'SELECT v FROM ft WHERE id = %d');
$node->stop('fast');
ok(-f $dump, '(a) clean stop wrote a dump');
my $stale = slurp_file($dump);
$node->start;
ok(!-e $dump, '(a) the dump was loaded and removed');
is( untracked($node,
		q{SELECT calls FROM pgperf.statements
		  WHERE query = 'SELECT v FROM ft WHERE id = $1'}),
	'3',
	'(a) the dump brought back 3 calls');

# More activity after the load, then the leftover dump.
run_n($node, 4, 'SELECT v FROM ft WHERE id = %d');
open my $fh, '>:raw', $dump or die "could not write $dump: $!";
print $fh $stale;
close $fh;

my $since_before = untracked($node, 'SELECT stats_since FROM pgperf.info');
my $log_offset = -s $node->logfile;

# The victim: with pgperf.track = all, the function's first statement is
# captured (nested), then it sleeps in its second.
my $victim = $node->background_psql('postgres', on_error_stop => 0);
$victim->query_safe(q{SET pgperf.track = 'all'});
$victim->query_until(qr/sent/, "\\echo sent\nSELECT faults_slow();\n");
$node->poll_query_until(
	'postgres', q{SELECT count(*) FROM pg_stat_activity
	  WHERE query = 'SELECT faults_slow();' AND state = 'active'
	    AND wait_event = 'PgSleep'}, '1')
  or die 'the victim did not start sleeping';
my $pid = untracked($node,
	q{SELECT pid FROM pg_stat_activity
	  WHERE query = 'SELECT faults_slow();' AND wait_event = 'PgSleep'});
is( untracked($node,
		q{SELECT toplevel, calls FROM pgperf.statements
		  WHERE query LIKE 'SELECT count(*) FROM ft%'}),
	'f|1',
	'(a) before the kill: the nested statement of the victim was captured');
is( untracked($node,
		q{SELECT count(*) FROM pgperf.statements
		  WHERE query LIKE '%faults_slow%' OR query LIKE '%pg_sleep%'}),
	'0',
	'(a) before the kill: the statements still running are not counted yet');
cmp_ok(untracked($node, 'SELECT entries FROM pgperf.info'),
	'>=', 2, '(a) statistics present before the kill');

ok(kill('KILL', $pid), "(a) SIGKILL sent to backend $pid, inside pg_sleep");
eval { $victim->quit };    # its server side is gone
# SHOW is a utility statement: pgperf does not count it
$node->poll_query_until('postgres', 'SHOW pgperf.track', 'top')
  or die 'server did not come back after the crash';

ok( $node->log_contains(
		qr/\Q$backend_desc\E \(PID $pid\) was terminated by signal 9: Killed\n.*DETAIL:  Failed process was running: SELECT faults_slow\(\);/,
		$log_offset),
	'(a) the log shows the backend killed while running SELECT faults_slow()');
ok( $node->log_contains(
		qr/all server processes terminated; reinitializing/, $log_offset),
	'(a) the postmaster reinitialized');
ok( $node->log_contains(
		qr/pgperf is ignoring its dump file "pg_stat\/pgperf\.stat": the server was not shut down cleanly/,
		$log_offset),
	'(a) the leftover dump was ignored at the crash restart');
ok(!$node->log_contains(qr/pgperf loaded/, $log_offset),
	'(a) nothing was loaded at the crash restart');
ok(!-e $dump, '(a) the leftover dump was removed');

# Shared memory was created anew: nothing from before the crash is left.
is( untracked($node,
		q{SELECT entries, plans, queries, evictions, current_window, windows,
		         windows_dropped, text_used_bytes, text_live_bytes,
		         texts_dropped
		  FROM pgperf.info}),
	'0|0|0|0|1|1|0|0|0|0',
	'(a) pgperf.info after the crash: empty, one window, empty text area');
is( untracked($node,
		qq{SELECT stats_since > '$since_before'::timestamptz,
		          stats_since <= now()
		   FROM pgperf.info}),
	't|t',
	'(a) stats_since is new');
is( untracked($node,
		q{SELECT window_id, label, reason, ended_at FROM pgperf.windows}),
	'1||start|',
	'(a) the window history starts over: one open start window, id 1');
is(untracked($node, 'SELECT count(*) FROM pgperf.statements'),
	'0', '(a) pgperf.statements is empty (and readable)');
is(untracked($node, 'SELECT count(*) FROM pgperf.plans'),
	'0', '(a) pgperf.plans is empty');

# Counting again, exactly.
run_n($node, 7, 'SELECT v FROM ft WHERE id = %d');
is( untracked($node,
		q{SELECT window_id, toplevel, calls, rows FROM pgperf.statements
		  WHERE query = 'SELECT v FROM ft WHERE id = $1'}),
	'1|t|7|7',
	'(a) after the crash: 7 runs counted as 7 calls, 7 rows, in window 1');
is( untracked($node,
		q{SELECT count(*), sum(calls) FROM pgperf.plans
		  WHERE sample_query LIKE 'SELECT v FROM ft WHERE id =%'}),
	'1|7',
	'(a) after the crash: one plan record with 7 calls');
is(untracked($node, 'SELECT entries, plans, queries FROM pgperf.info'),
	'1|1|1', '(a) after the crash: pgperf.info counts one entry, plan, query');
no_other_crash($node, $log_offset, '(a) SIGKILL', $pid);

# The crash restart set up saving again: a clean restart keeps what was
# counted since the crash.
my $post_crash = untracked($node,
	q{SELECT queryid, planid, calls, rows, total_exec_ms FROM pgperf.statements
	  ORDER BY window_id, queryid});
$log_offset = -s $node->logfile;
$node->stop('fast');
ok(-f $dump, '(a) clean stop after the crash wrote a dump');
$node->start;
ok($node->log_contains(qr/pgperf loaded 1 statistics entries/, $log_offset),
	'(a) and the next start loaded it');
is( untracked($node,
		q{SELECT queryid, planid, calls, rows, total_exec_ms
		  FROM pgperf.statements WHERE window_id = 1 ORDER BY queryid}),
	$post_crash,
	'(a) the post-crash statistics survived a clean restart');
no_other_crash($node, $log_offset, '(a) clean restart after the crash');

# ---------------------------------------------------------------------------
# (b) Immediate shutdown, with a statement running
# ---------------------------------------------------------------------------

run_n($node, 5, 'SELECT v FROM ft WHERE id = %d');
cmp_ok(untracked($node, 'SELECT entries FROM pgperf.info'),
	'>', 0, '(b) statistics present before the immediate shutdown');
ok(!-e $dump, '(b) no dump before the stop');
my $busy = $node->background_psql('postgres', on_error_stop => 0);
$busy->query_until(qr/sent/, "\\echo sent\nSELECT pg_sleep(600);\n");
$node->poll_query_until(
	'postgres', q{SELECT count(*) FROM pg_stat_activity
	  WHERE query = 'SELECT pg_sleep(600);' AND wait_event = 'PgSleep'}, '1')
  or die 'the busy session did not start sleeping';

$log_offset = -s $node->logfile;
$node->stop('immediate');
eval { $busy->quit };
ok(!-e $dump, '(b) the immediate shutdown wrote no dump');
ok(!-e "$dump.tmp", '(b) ... not even a temporary one');
ok( $node->log_contains(
		qr/LOG:  pgperf is not saving its statistics: the server did not shut down cleanly/,
		$log_offset),
	'(b) pgperf logged why it did not save');
no_other_crash($node, $log_offset, '(b) immediate shutdown');

my $start_offset = -s $node->logfile;
$node->start;
# read before any query: the statements are logged (log_statement = all)
my $startup_log = log_since($node, $start_offset);
is(untracked($node, 'SELECT entries, plans, queries FROM pgperf.info'),
	'0|0|0', '(b) statistics empty after the immediate shutdown');
ok( $startup_log =~ /database system was not properly shut down; automatic recovery in progress/,
	'(b) the start ran crash recovery');
my @bad = $startup_log =~ /^(.*(?:WARNING|ERROR|FATAL|PANIC):.*)$/mg;
is_deeply(\@bad, [], '(b) start-up: no WARNING, ERROR, FATAL or PANIC')
  or diag(join("\n", @bad));
my @pgperf_lines = $startup_log =~ /^(.*pgperf.*)$/mg;
is_deeply(\@pgperf_lines, [],
	'(b) start-up: pgperf logged nothing (no dump to load or ignore)')
  or diag(join("\n", @pgperf_lines));
run_n($node, 6, 'SELECT v FROM ft WHERE id = %d');
is( untracked($node,
		q{SELECT calls, rows FROM pgperf.statements
		  WHERE query = 'SELECT v FROM ft WHERE id = $1'}),
	'6|6',
	'(b) pgperf counts exactly after the immediate shutdown');
no_other_crash($node, $start_offset, '(b) start after the immediate shutdown');

# ---------------------------------------------------------------------------
# (c) Streaming standby
# ---------------------------------------------------------------------------

my $backup = 'faults_backup';
$node->backup($backup);
my $standby = PostgreSQL::Test::Cluster->new('faults_standby');
# the configuration (shared_preload_libraries = 'pgperf' included) comes with
# the backup
$standby->init_from_backup($node, $backup, has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby, 'replay');
my $sdump = dump_path($standby);
my $slog_offset = 0;

is(untracked($standby, 'SELECT pg_is_in_recovery()'),
	't', '(c) the standby is in recovery');
is(untracked($standby, q{SELECT extversion FROM pg_extension
                         WHERE extname = 'pgperf'}),
	'1.0', '(c) the extension replicated to the standby');

# reset() works on the standby
like(untracked($standby, 'SELECT pgperf.reset()'),
	qr/^\d{4}-/, '(c) pgperf.reset() works on the standby');
is( untracked($standby,
		q{SELECT entries, current_window, windows FROM pgperf.info}),
	'0|2|1',
	'(c) after reset() on the standby: empty, one reset window');
is(untracked($standby, q{SELECT reason FROM pgperf.windows}),
	'reset', '(c) the standby window is a reset window');

# The same statement, N times on the standby, M times on the primary.
my $q = 'SELECT v FROM ft WHERE id = $1';
run_n($standby, 9, 'SELECT v FROM ft WHERE id = %d');
run_n($node,    4, 'SELECT v FROM ft WHERE id = %d');
is( untracked($standby,
		qq{SELECT toplevel, calls, rows FROM pgperf.statements
		   WHERE query = '$q'}),
	't|9|9',
	'(c) the standby counts its 9 read-only calls');
is( untracked($node,
		qq{SELECT sum(calls) FROM pgperf.statements WHERE query = '$q'}),
	'10',
	'(c) the primary counts only its own calls (6 + 4), none of the standby');
is( untracked($standby,
		qq{SELECT DISTINCT queryid FROM pgperf.statements WHERE query = '$q'}),
	untracked($node,
		qq{SELECT DISTINCT queryid FROM pgperf.statements WHERE query = '$q'}),
	'(c) same queryid on the standby and on the primary');
is( untracked($standby,
		qq{SELECT count(*), sum(calls) FROM pgperf.plans
		   WHERE sample_query LIKE 'SELECT v FROM ft WHERE id =%'}),
	'1|9',
	'(c) the standby has the plan record');

# mark() works on the standby; later calls go into the new window
is(untracked($standby, q{SELECT pgperf.mark('on standby')}),
	'3', '(c) pgperf.mark() works on the standby (window 3)');
run_n($standby, 2, 'SELECT v FROM ft WHERE id = %d');
is( untracked($standby,
		qq{SELECT string_agg(window_id || ':' || calls, ',' ORDER BY window_id)
		   FROM pgperf.statements WHERE query = '$q'}),
	'2:9,3:2',
	'(c) 9 calls before the mark, 2 after');
is( untracked($standby,
		q{SELECT string_agg(window_id || ':' || coalesce(label, '') || ':' || reason,
		                    ',' ORDER BY window_id)
		  FROM pgperf.windows}),
	'2::reset,3:on standby:manual',
	'(c) the standby windows: reset, then the mark');

# (c) try_index() must not build an index in recovery: a clear error, with
# its SQLSTATE (read_only_sql_transaction).  Untracked, as the statements
# around it, so that the failed call adds no entry.
my ($ti_rc, $ti_out, $ti_err) = $standby->psql('postgres',
	q{SET pgperf.track = none;
	  \set VERBOSITY verbose
	  SELECT * FROM pgperf.try_index('CREATE INDEX ON ft (v)')});
isnt($ti_rc, 0, '(c) try_index() fails on the standby');
like($ti_err, qr/ERROR:  25006: cannot try an index during recovery/,
	'(c) try_index() on the standby: SQLSTATE 25006, a clear message');

# A clean restart of the standby keeps its statistics.
my $standby_stats = untracked($standby,
	q{SELECT window_id, queryid, planid, calls, rows, total_exec_ms,
	         first_seen, last_seen
	  FROM pgperf.statements ORDER BY window_id, queryid});
my $standby_info = untracked($standby,
	'SELECT entries, plans, queries, stats_since FROM pgperf.info');
$slog_offset = -s $standby->logfile;
$standby->stop('fast');
ok(-f $sdump, '(c) clean stop of the standby wrote a dump');
$standby->start;
ok( $standby->log_contains(
		qr/pgperf loaded 2 statistics entries/, $slog_offset),
	'(c) the standby loaded its dump at start');
ok(!-e $sdump, '(c) and removed it');
is( untracked($standby,
		q{SELECT window_id, queryid, planid, calls, rows, total_exec_ms,
		         first_seen, last_seen
		  FROM pgperf.statements ORDER BY window_id, queryid}),
	$standby_stats,
	'(c) the standby statistics survived its clean restart');
is( untracked($standby,
		'SELECT entries, plans, queries, stats_since FROM pgperf.info'),
	$standby_info,
	'(c) pgperf.info on the standby too');
is( untracked($standby,
		q{SELECT string_agg(window_id || ':' || reason, ',' ORDER BY window_id)
		  FROM pgperf.windows}),
	'2:reset,3:manual,4:start',
	'(c) the standby windows came back, and a start window was opened');
is(untracked($standby, 'SELECT pg_is_in_recovery()'),
	't', '(c) still a standby');
no_other_crash($standby, $slog_offset, '(c) standby clean restart');

# An immediate stop of the standby writes no dump either.
run_n($standby, 1, 'SELECT v FROM ft WHERE id = %d');
$slog_offset = -s $standby->logfile;
$standby->stop('immediate');
ok(!-e $sdump, '(c) immediate stop of the standby wrote no dump');
$standby->start;
is(untracked($standby, 'SELECT entries FROM pgperf.info'),
	'0', '(c) standby statistics empty after its immediate stop');
run_n($standby, 3, 'SELECT v FROM ft WHERE id = %d');
is( untracked($standby,
		qq{SELECT calls FROM pgperf.statements WHERE query = '$q'}),
	'3',
	'(c) and the standby counts exactly again');
ok( !$standby->log_contains(qr/(?:WARNING|ERROR):.*pgperf/, $slog_offset),
	'(c) no WARNING or ERROR from pgperf on the standby');
no_other_crash($standby, $slog_offset, '(c) standby immediate stop');

# The primary is unaffected by all of it.
no_other_crash($node, 0, 'primary, whole run', $pid);

$standby->stop;
$node->stop;
done_testing();
