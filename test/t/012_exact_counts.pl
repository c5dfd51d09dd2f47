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
#      50 ms until half the transactions have run.  Each reset is taken with
#      the UPDATEs held off by a table lock (the SELECTs run on, and race with
#      it), so the UPDATEs that ran before it are known exactly: the UPDATE
#      calls left afterwards are exactly the UPDATEs run after the last reset
#      (none lost, none counted twice), and the SELECT calls left plus those
#      counted before the resets are at most the transactions (none counted
#      twice).  Every entry left is consistent: histogram count = calls,
#      exactly 1 row per call, no negative or impossible figure (min <= mean
#      <= max, ordered percentiles, first_seen <= last_seen, no failures), in
#      the window the last reset opened.
# Assertions fix no timing; that the marks and resets fall inside the
# workload rests only on pgbench running 8000 transactions for longer than
# 50 ms (it takes about a second here).
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

# Starts, in a background session, the DO block 'body' (which records what
# it did in bg_result and stops when the flag is set); returns the session.
sub start_background
{
	my ($body) = @_;
	untracked("UPDATE flag SET done = false; DELETE FROM bg_result");
	my $bg = $node->background_psql('postgres');
	$bg->query_until(qr/started/, "\\echo started\nDO \$\$\n$body\n\$\$;\n");
	return $bg;
}

# Stops the background session; returns what it recorded as 'what'.
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
	# a mark every 50 ms, at most 200 (pgperf.max_windows is 500)
	my $bg = start_background(q{
DECLARE
  marks int := 0;
BEGIN
  WHILE marks < 200 AND NOT (SELECT done FROM flag) LOOP
    PERFORM pgperf.mark();
    marks := marks + 1;
    PERFORM pg_sleep(0.05);
  END LOOP;
  INSERT INTO bg_result VALUES ('marks', marks);
END});
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

# The resetter, every 50 ms once the workload has started: locks acc against
# UPDATEs (SHARE ROW EXCLUSIVE: the UPDATEs running commit first, none starts
# until the COMMIT; the SELECTs go on and race with the reset), reads how many
# UPDATEs ran (the balance: every UPDATE adds 1, and each is stored by pgperf
# before it commits) and how many SELECTs pgperf had counted, resets, and
# commits.  It stops once half the UPDATEs have run, so that the other half
# run after its last reset.  So the UPDATEs left after the resets are exactly
# the transactions minus the balance at the last reset; and the SELECTs left
# are at most the transactions minus those counted before the resets (a reset
# removes them; none may be counted again).
untracked(q{
	SELECT pgperf.reset();
	UPDATE acc SET balance = 0;
});
my $half = $total / 2;
my $bg = start_background(qq{
DECLARE
  resets int := 0;
  balance bigint;
  selects bigint;
  selects_seen bigint := 0;
  balance_at_last bigint := -1;
BEGIN
  LOOP
    EXIT WHEN resets >= 100 OR (SELECT done FROM flag);
    IF (SELECT sum(a.balance) FROM acc a) = 0 THEN
      PERFORM pg_sleep(0.01);
      CONTINUE;
    END IF;
    LOCK TABLE acc IN SHARE ROW EXCLUSIVE MODE;
    SELECT sum(a.balance) INTO balance FROM acc a;
    EXIT WHEN balance >= $half;
    SELECT coalesce(sum(calls), 0) INTO selects
      FROM pgperf.statements WHERE query LIKE 'SELECT balance%';
    PERFORM pgperf.reset();
    COMMIT;
    resets := resets + 1;
    selects_seen := selects_seen + selects;
    balance_at_last := balance;
    PERFORM pg_sleep(0.05);
  END LOOP;
  COMMIT;
  INSERT INTO bg_result VALUES ('resets', resets), ('selects_seen', selects_seen),
    ('balance_at_last', balance_at_last);
END});
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
my $selects_seen = untracked(q{SELECT n FROM bg_result WHERE what = 'selects_seen'});
my $balance_at_last = untracked(q{SELECT n FROM bg_result WHERE what = 'balance_at_last'});
cmp_ok($resets, '>=', 1, "reset: the other session reset $resets times under load");
is(untracked('SELECT sum(balance) FROM acc'), $total, 'reset: every UPDATE ran');
is( untracked(q{
		SELECT coalesce(sum(calls), 0) FROM pgperf.statements WHERE query LIKE 'UPDATE acc%'}),
	$total - $balance_at_last,
	"reset: UPDATE calls left = the " . ($total - $balance_at_last) .
	  " run after the last reset, exactly");
my $selects_left = untracked(q{
	SELECT coalesce(sum(calls), 0) FROM pgperf.statements WHERE query LIKE 'SELECT balance%'});
cmp_ok($selects_left + $selects_seen, '<=', $total,
	"reset: no SELECT counted twice ($selects_left left, $selects_seen counted before the resets, of $total)");
cmp_ok($selects_left, '>', 0, 'reset: SELECTs counted after the resets');

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
