# 012_exact_counts.pl: counters stay exact while windows open and statistics
# are reset under a running workload.
#
# 005_concurrency.pl shows that calls equal pgbench's transactions with 4
# clients; this shows it still holds when the statistics are split or cleared
# while those clients run:
#  (a) mark() during the workload: 4 pgbench clients run a known number of
#      transactions of 3 statements (UPDATE, SELECT, INSERT, each of one row),
#      under --protocol=simple and then --protocol=prepared, while another
#      session calls pgperf.mark() every 50 ms.  For each statement the calls
#      summed over all windows equal the transactions pgbench reports, to the
#      unit, with one row per call; the calls are split over several windows
#      (so the split really happened under load); and in every entry of every
#      window the latency histogram holds exactly one count per call.  The
#      histogram is not in any view: its counts are read from the dump file a
#      clean stop writes (persist.c's layout, as 002_dump_file.pl reads it).
#  (b) reset() during the workload: 4 clients run a single-row UPDATE and a
#      single-row SELECT while another session calls pgperf.reset() every
#      50 ms, first reading how many UPDATEs pgperf had counted.  Afterwards
#      every entry is consistent: histogram count = calls, exactly 1 row per
#      call, no negative or impossible figure (min <= mean <= max, ordered
#      percentiles, first_seen <= last_seen, no failures), and no execution
#      is counted twice: the UPDATE calls left are at most the transactions
#      minus every UPDATE counted before a reset (a reset removes what was
#      counted before it; an execution is stored once).  The table shows every
#      UPDATE ran.
# Nothing here depends on timing except how the calls are spread over the
# windows, which no assertion fixes beyond "more than one window".
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('exact_counts');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pgperf'
pgperf.track = top
# room for every window the marker opens (at most 200 per run), so that no
# window, and none of its counts, is dropped
pgperf.max_windows = 500
pgperf.max = 5000
autovacuum = off
max_parallel_workers_per_gather = 0
jit = off
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pgperf;
	CREATE TABLE acc (id int PRIMARY KEY, balance int NOT NULL DEFAULT 0);
	INSERT INTO acc SELECT g FROM generate_series(1, 1000) g;
	CREATE TABLE audit (id int, delta int);
	-- the background session's stop signal and what it did
	CREATE TABLE flag (done bool);
	INSERT INTO flag VALUES (false);
	CREATE TABLE bg_result (what text, n bigint);
});

my $dump = $node->data_dir . '/pg_stat/pgperf.stat';

# Runs SQL in a session that pgperf does not track.
sub untracked
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', "SET pgperf.track = none;\n$sql");
}

# Every entry as "window queryid planid toplevel" => "calls rows".
sub view_entries
{
	my %e;
	foreach my $line (split /\n/, untracked(q{
		SELECT window_id, queryid, planid, toplevel::int, calls, rows
		  FROM pgperf.statements}))
	{
		my ($w, $q, $p, $t, $calls, $rows) = split /\|/, $line;
		$e{"$w $q $p $t"} = "$calls $rows";
	}
	return \%e;
}

# Stops the node cleanly and reads every entry of the dump it writes:
# "window queryid planid toplevel" => [calls, rows, histogram count].
# persist.c's layout (native order, x86-64): the header has counters_size at
# 16, hist_bins at 28, nentries at 96; the entries come last, before the
# 4-byte CRC, each a PgperfStatKey (queryid, planid, userid, dbid, window_id,
# toplevel: 32 bytes), the double usage, then PgperfCounters: exec (a stats_t
# of 48 bytes, whose first field is the call count), plan (48), rows, ...,
# and the histogram (hist_bins uint64) last.  Restarts the node (which loads
# the dump back).
sub dump_entries
{
	$node->stop;
	my $bytes = slurp_file($dump);
	my ($stat_key_size, $counters_size) = unpack('x12 L L', $bytes);
	my ($hist_bins) = unpack('x28 L', $bytes);
	my ($nentries) = unpack('x96 q', $bytes);
	is($stat_key_size, 32, 'dump: PgperfStatKey is 32 bytes (layout read here)');
	my $entry_size = $stat_key_size + 8 + $counters_size;
	my $start = length($bytes) - 4 - $nentries * $entry_size;
	my %e;
	for my $i (0 .. $nentries - 1)
	{
		my $rec = substr($bytes, $start + $i * $entry_size, $entry_size);
		my ($q, $p, $userid, $dbid, $w, $t) = unpack('q q L L L C', $rec);
		my $c = $stat_key_size + 8;
		my ($calls) = unpack("x$c q", $rec);
		my $rows_off = $c + 96;
		my ($rows) = unpack("x$rows_off q", $rec);
		my $hist_off = $c + $counters_size - 8 * $hist_bins;
		my $hist = 0;
		$hist += $_ for unpack("x$hist_off q$hist_bins", $rec);
		$e{"$w $q $p $t"} = [ $calls, $rows, $hist ];
	}
	$node->start;
	return \%e;
}

# Checks that the dump holds exactly the entries the view showed, with the
# same calls and rows, and a histogram count equal to the calls in each.
sub check_histograms
{
	my ($what) = @_;
	my $view = view_entries();
	my $dumped = dump_entries();
	is_deeply([ sort keys %$dumped ], [ sort keys %$view ],
		"$what: the dump holds the entries the view showed");
	my @bad;
	foreach my $k (sort keys %$dumped)
	{
		my ($calls, $rows, $hist) = @{ $dumped->{$k} };
		push @bad, "$k: calls $calls, histogram $hist, view $view->{$k}"
		  if $hist != $calls || "$calls $rows" ne ($view->{$k} // '');
	}
	is(join("\n", @bad), '',
		"$what: in every entry of every window, histogram count = calls (" .
		scalar(keys %$dumped) . ' entries)');
}

# Starts, in a background session, a DO block that runs 'step' (PL/pgSQL)
# every 50 ms until the flag is set or it has run 'max' times, then records
# how many times it ran; returns the session.
sub start_background
{
	my ($what, $step, $max) = @_;
	untracked("UPDATE flag SET done = false; DELETE FROM bg_result");
	my $bg = $node->background_psql('postgres');
	$bg->query_until(qr/started/, qq{
\\echo started
DO \$\$
DECLARE
  runs int := 0;
  seen bigint := 0;
  c bigint;
BEGIN
  WHILE runs < $max AND NOT (SELECT done FROM flag) LOOP
    $step
    runs := runs + 1;
    PERFORM pg_sleep(0.05);
  END LOOP;
  INSERT INTO bg_result VALUES ('$what', runs), ('seen', seen);
END \$\$;
});
	return $bg;
}

# Stops the background session; returns how many times its step ran.
sub stop_background
{
	my ($bg, $what) = @_;
	untracked('UPDATE flag SET done = true');
	$bg->quit;
	return untracked("SELECT n FROM bg_result WHERE what = '$what'");
}

# --- (a) mark() while 4 clients run ------------------------------------------

my ($clients, $xacts) = (4, 2000);
my $total = $clients * $xacts;
my $expected_balance = 0;

foreach my $protocol ('simple', 'prepared')
{
	untracked('SELECT pgperf.reset()');
	my $bg = start_background('marks', 'PERFORM pgperf.mark();', 200);
	$node->pgbench(
		"--no-vacuum --client=$clients --jobs=2 --transactions=$xacts --protocol=$protocol",
		0,
		[qr{number of transactions actually processed: $total/$total}],
		[qr{^$}],
		"$protocol: pgbench, $clients clients x $xacts transactions, while marking",
		{
			"012_exact_counts_$protocol" => q{
\set id random(1, 1000)
UPDATE acc SET balance = balance + 1 WHERE id = :id;
SELECT balance FROM acc WHERE id = :id;
INSERT INTO audit (id, delta) VALUES (:id, 1);
}
		});
	my $marks = stop_background($bg, 'marks');
	$expected_balance += $total;
	cmp_ok($marks, '>', 1, "$protocol: the other session opened $marks windows");
	is( untracked(q{
			SELECT (SELECT count(*) FROM pgperf.windows WHERE reason = 'manual')
			       || ' ' || (SELECT windows_dropped FROM pgperf.info)}),
		"$marks 0", "$protocol: every window opened is kept");

	foreach my $stmt ('UPDATE acc', 'SELECT balance', 'INSERT INTO audit')
	{
		is( untracked(qq{
				SELECT sum(calls) || ' ' || sum(rows)
				  FROM pgperf.statements WHERE query LIKE '$stmt%'}),
			"$total $total",
			"$protocol: $stmt: calls over all windows = $total transactions, one row each"
		);
		my $windows = untracked(qq{
			SELECT count(DISTINCT window_id)
			  FROM pgperf.statements WHERE query LIKE '$stmt%' AND calls > 0});
		cmp_ok($windows, '>', 1, "$protocol: $stmt: calls split over $windows windows");
	}
	is(untracked('SELECT sum(balance) FROM acc'),
		$expected_balance, "$protocol: the table agrees");
	check_histograms("$protocol, marks");
}

# --- (b) reset() while 4 clients run -----------------------------------------

# The resetter waits for the first UPDATE to be counted, then before each
# reset adds up the UPDATEs pgperf had counted: all of them are removed by
# the reset that follows, and none may be counted again.
untracked(q{
	SELECT pgperf.reset();
	UPDATE acc SET balance = 0;
});
my $bg = start_background(
	'resets', q{
    SELECT coalesce(sum(calls), 0) INTO c
      FROM pgperf.statements WHERE query LIKE 'UPDATE acc%';
    IF c = 0 AND runs = 0 THEN
      PERFORM pg_sleep(0.01);
      CONTINUE;
    END IF;
    seen := seen + c;
    PERFORM pgperf.reset();
}, 100);
$node->pgbench(
	"--no-vacuum --client=$clients --jobs=2 --transactions=$xacts --protocol=simple",
	0,
	[qr{number of transactions actually processed: $total/$total}],
	[qr{^$}],
	"reset: pgbench, $clients clients x $xacts transactions, while resetting",
	{
		'012_exact_counts_reset' => q{
\set id random(1, 1000)
UPDATE acc SET balance = balance + 1 WHERE id = :id;
SELECT balance FROM acc WHERE id = :id;
}
	});
my $resets = stop_background($bg, 'resets');
my $seen = untracked(q{SELECT n FROM bg_result WHERE what = 'seen'});
cmp_ok($resets, '>', 1, "reset: the other session reset $resets times");
cmp_ok($seen, '>', 0, "reset: $seen UPDATEs were counted before a reset");
is(untracked('SELECT sum(balance) FROM acc'), $total, 'reset: every UPDATE ran');

my $left = untracked(q{
	SELECT coalesce(sum(calls), 0) FROM pgperf.statements WHERE query LIKE 'UPDATE acc%'});
cmp_ok($left + $seen, '<=', $total,
	"reset: no UPDATE counted twice ($left left after the resets, $seen before them, of $total)");
cmp_ok(
	untracked(q{
		SELECT coalesce(sum(calls), 0) FROM pgperf.statements
		 WHERE query LIKE 'SELECT balance%'}),
	'<=', $total, 'reset: SELECT calls within the transactions');

# every entry left: possible figures only
is( untracked(q{
		SELECT string_agg(format('%s %s: calls %s rows %s', window_id, left(query, 20),
		                         calls, rows), E'\n')
		  FROM pgperf.statements
		 WHERE NOT (calls >= 1
		   AND rows = calls
		   AND min_exec_ms >= 0
		   -- the running mean is a float: allow its rounding
		   AND min_exec_ms <= mean_exec_ms * (1 + 1e-9)
		   AND mean_exec_ms <= max_exec_ms * (1 + 1e-9)
		   AND total_exec_ms >= 0 AND stddev_exec_ms >= 0
		   AND min_exec_ms <= p50_ms AND p50_ms <= p95_ms AND p95_ms <= p99_ms
		   AND p99_ms <= max_exec_ms
		   AND shared_blks_hit >= 0 AND shared_blks_read >= 0
		   AND shared_blks_dirtied >= 0 AND shared_blks_written >= 0
		   AND wal_records >= 0 AND wal_bytes >= 0
		   AND failed_calls = 0 AND plans = 0
		   AND first_seen <= last_seen
		   AND (query LIKE 'UPDATE acc%' OR query LIKE 'SELECT balance%'))}),
	'',
	'reset: every entry left has calls >= 1, exactly one row per call, ordered figures');
is( untracked(q{
		SELECT count(*) FROM pgperf.statements s
		  LEFT JOIN pgperf.windows w USING (window_id)
		 WHERE w.window_id IS NULL OR w.reason <> 'reset'}),
	'0', 'reset: every entry is in a window a reset opened');
check_histograms('resets');

$node->stop;
done_testing();
