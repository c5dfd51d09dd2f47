# 010_exhaustion.pl: pgperf under far more statements and text than it can hold.
#
# What this proves, on a node with pgperf.max = 1000 and the smallest text
# area (256kB):
#  - Plans with long texts: a plan or query text longer than
#    pgperf.max_text_length is cut to exactly that length; statements with
#    long texts (long OR chains of constants), each needing a good part of
#    the text area,
#    make pgperf compact the area, drop unreferenced query records and evict
#    entries to make room; a text bigger than half the area is not kept and is
#    counted in texts_dropped, while its statement is still counted.
#  - 200,000 distinct statements (distinct queryids: a different list of
#    columns each time, run by EXECUTE in a DO block under pgperf.track = all,
#    so each one is a new entry): none fails; sampled every 500 statements,
#    entries, plan records and query records never exceed pgperf.max and the
#    text area's used bytes never exceed its size; every entry that went was
#    counted as an eviction, exactly (entries before + statements - entries
#    after = evictions, the samples being taken with tracking off).
#  - Shared memory is fixed at start: pgperf's rows in pg_shmem_allocations,
#    and the server's free shared memory, are the same before and after (a
#    hash table that grew past pgperf.max would take free shared memory).
#  - Afterwards pgperf still works: a fresh statement run 7 times has calls = 7,
#    its normalized text, and its plan text.
# Runtime: the 200,000 statements run in about 4 s on a 2-core machine
# (about 50,000 new entries a second, with evictions every 50); the whole test
# takes about 10 s.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $max = 1000;
my $area = 256 * 1024;
my $max_text = 4096;

my $node = PostgreSQL::Test::Cluster->new('exhaustion');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pgperf'
pgperf.max = $max
pgperf.text_area_size = 256kB
pgperf.max_text_length = $max_text
pgperf.track = 'all'
# nothing but the test may run statements
autovacuum = off
max_parallel_workers_per_gather = 0
jit = off
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgperf');

# Runs SQL in a session that pgperf does not track, so that looking at the
# statistics does not change them.
sub untracked
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', "SET pgperf.track = none;\n$sql");
}

# pgperf's shared memory, and what is left free (the row with no name).
my $shmem_sql = q{
	SELECT coalesce(name, '<free>') || ' ' || size || ' ' || allocated_size
	  FROM pg_shmem_allocations
	 WHERE name LIKE 'pgperf%' OR name IS NULL
	 ORDER BY name COLLATE "C" NULLS LAST};
my $shmem_before = untracked($shmem_sql);
# (allocated_size is the allocator's: from 19 on it adds its own bytes to
# the size asked for, so only the size is pgperf's)
like($shmem_before, qr/^pgperf texts $area \d+$/m,
	'the text area is pgperf.text_area_size');
my ($texts_allocated) = $shmem_before =~ /^pgperf texts $area (\d+)$/m;
cmp_ok($texts_allocated // 0, '>=', $area, '... and that much is allocated');

# A 30-column empty table: "SELECT c<a>, c<b>, c<c>, c<d> FROM w" has a
# distinct queryid for every list of columns (30^4 of them).
untracked(q{
	CREATE TABLE w AS SELECT 0 AS c0 FROM generate_series(1, 0);
	DO $$ BEGIN
	  FOR i IN 1..29 LOOP
	    EXECUTE format('ALTER TABLE w ADD COLUMN c%s int', i);
	  END LOOP;
	END $$;
	SELECT pgperf.reset();
});

my $info = q{
	SELECT entries, plans, queries, evictions, text_used_bytes, text_live_bytes,
	       text_compactions, texts_dropped
	  FROM pgperf.info};

# --- Long texts --------------------------------------------------------------

# A 1000-way UNION ALL: its plan (one line per branch) and its text are longer
# than pgperf.max_text_length, and are cut to it.  The area is empty: both fit.
my $union = join(' UNION ALL ', map { 'SELECT c' . ($_ % 30) . ' FROM w' } 1 .. 1000);
$node->safe_psql('postgres', $union);
is( untracked(qq{
		SELECT octet_length(s.query) || ' ' || octet_length(p.plan) || ' ' || s.calls
		  FROM pgperf.statements s JOIN pgperf.plans p USING (queryid, planid)
		 WHERE s.query LIKE 'SELECT c1 FROM w UNION ALL%'}),
	"$max_text $max_text 1",
	'a long query text and plan text are cut to pgperf.max_text_length');

# 300 statements with long OR chains (600 to 899 comparisons with a constant:
# a distinct queryid each), in one session: normalized text, plan text and
# sample are each up to 4kB, so the area holds about 20 of them.  Not IN
# lists: from PostgreSQL 18 on, core squashes a list of constants, so that
# IN lists of any length share one queryid (and one short normalized text).
$node->safe_psql('postgres', q{
	DO $$ BEGIN
	  FOR n IN 600..899 LOOP
	    EXECUTE format('SELECT c0 FROM w WHERE %s',
	                   (SELECT string_agg(format('c%s = %s', n % 30, g), ' OR ')
	                      FROM generate_series(1, n) g));
	  END LOOP;
	END $$;
});
my ($entries, $plans, $queries, $evictions, $used, $live, $compactions,
	$dropped) = split /\|/, untracked($info);
cmp_ok($compactions, '>', 0, "long texts: the text area was compacted ($compactions times)");
cmp_ok($evictions, '>', 0, "long texts: entries were evicted to make room ($evictions)");
cmp_ok($used, '<=', $area, 'long texts: text area used within its size');
cmp_ok($live, '<=', $used, 'long texts: live text within used text');
is( untracked(q{
		SELECT count(*) FROM pgperf.statements
		 WHERE query LIKE 'SELECT c0 FROM w WHERE c% = $1 OR c%' AND calls <> 1}),
	'0', 'long texts: every OR-chain statement kept is counted once');
cmp_ok( untracked(q{
		SELECT count(*) FROM pgperf.statements
		 WHERE query LIKE 'SELECT c0 FROM w WHERE c% = $1 OR c%'}),
	'>', 0, 'long texts: OR-chain statements are kept, with their normalized texts');

# A text bigger than half the area is not kept, and is counted: a 20,000-way
# OR chain (not an IN list, whose normalized text 18+ squashes to a few
# bytes), with pgperf.max_text_length raised so that it is not cut.  The
# statement is still counted, with no text (it is the one with 3 rows).
my $dropped_before = $dropped;
$node->safe_psql('postgres', q{
	SET pgperf.max_text_length = '1MB';
	DO $$ BEGIN
	  EXECUTE format('SELECT g FROM generate_series(1, 3) g WHERE %s',
	                 (SELECT string_agg(format('g = %s', g), ' OR ')
	                    FROM generate_series(1, 20000) g));
	END $$;
});
($entries, $plans, $queries, $evictions, $used, $live, $compactions, $dropped) =
  split /\|/, untracked($info);
cmp_ok($dropped, '>', $dropped_before,
	"a text bigger than half the area is dropped and counted ($dropped)");
is( untracked(q{
		SELECT s.calls || ' ' || (s.query IS NULL) || ' ' || (p.plan IS NULL)
		  FROM pgperf.statements s JOIN pgperf.plans p USING (queryid, planid)
		 WHERE s.rows = 3}),
	'1 true true', 'the statement whose texts were dropped is still counted, without texts');
cmp_ok($used, '<=', $area, 'text area used within its size');

# --- 200,000 distinct statements -----------------------------------------------

# Samples pgperf.info every 500 statements with tracking off (set_config in
# an assignment runs no statement), so that the DO block adds exactly one
# entry per generated statement, and keeps the worst figures.
my $nstmts = 200_000;
my $e0 = untracked('SELECT entries FROM pgperf.info');
my $ev0 = untracked('SELECT evictions FROM pgperf.info');
untracked('CREATE TABLE sampled (samples int, max_entries bigint, max_plans bigint,
	max_queries bigint, max_used bigint, bad_text int)');
$node->safe_psql('postgres', qq{
	DO \$\$
	DECLARE
	  cur record;
	  dummy text;
	  samples int := 0;
	  max_entries bigint := 0;
	  max_plans bigint := 0;
	  max_queries bigint := 0;
	  max_used bigint := 0;
	  bad_text int := 0;
	BEGIN
	  FOR i IN 0..$nstmts - 1 LOOP
	    EXECUTE format('SELECT c%s, c%s, c%s, c%s FROM w',
	                   i % 30, (i / 30) % 30, (i / 900) % 30, (i / 27000) % 30);
	    IF i % 500 = 499 THEN
	      dummy := set_config('pgperf.track', 'none', true);
	      SELECT * INTO cur FROM pgperf.info;
	      dummy := set_config('pgperf.track', 'all', true);
	      samples := samples + 1;
	      max_entries := greatest(max_entries, cur.entries);
	      max_plans := greatest(max_plans, cur.plans);
	      max_queries := greatest(max_queries, cur.queries);
	      max_used := greatest(max_used, cur.text_used_bytes);
	      IF cur.text_live_bytes > cur.text_used_bytes
	         OR cur.text_used_bytes > cur.text_area_bytes THEN
	        bad_text := bad_text + 1;
	      END IF;
	    END IF;
	  END LOOP;
	  dummy := set_config('pgperf.track', 'none', true);
	  INSERT INTO sampled VALUES (samples, max_entries, max_plans, max_queries,
	                              max_used, bad_text);
	END \$\$;
});
my ($samples, $max_entries, $max_plans, $max_queries, $max_used, $bad_text) =
  split /\|/, untracked('SELECT * FROM sampled');
is($samples, $nstmts / 500, "pgperf.info sampled $samples times");
cmp_ok($max_entries, '<=', $max, "entries never exceeded pgperf.max (at most $max_entries)");
cmp_ok($max_entries, '>=', $max * 0.9, 'the table was full');
cmp_ok($max_plans, '<=', $max, "plan records never exceeded pgperf.max (at most $max_plans)");
cmp_ok($max_queries, '<=', $max, "query records never exceeded pgperf.max (at most $max_queries)");
cmp_ok($max_used, '<=', $area, "text area used never exceeded its size (at most $max_used)");
is($bad_text, '0', 'text counters consistent at every sample');

($entries, $plans, $queries, $evictions, $used, $live, $compactions, $dropped) =
  split /\|/, untracked($info);
cmp_ok($entries, '<=', $max, "entries within pgperf.max after the run ($entries)");
is($evictions - $ev0, $e0 + $nstmts - $entries,
	'every entry that went was counted as an eviction, exactly');
is( untracked(q{
		SELECT count(*) || ' ' || count(DISTINCT queryid) || ' ' || sum(calls)
		  FROM pgperf.statements
		 WHERE query ~ '^SELECT c\d+, c\d+, c\d+, c\d+ FROM w$' AND NOT toplevel}),
	"$entries $entries $entries",
	'every entry left is one generated statement, run once, with its text');
is( untracked('SELECT coalesce(sum(failed_calls), 0) FROM pgperf.statements'),
	'0', 'no statement failed');
is( untracked('SELECT windows_dropped FROM pgperf.info'),
	'0', 'no window was dropped (evictions are the only removals)');

# --- Shared memory is fixed ----------------------------------------------------

is(untracked($shmem_sql), $shmem_before,
	"pgperf's shared memory and the free shared memory are unchanged");

# --- pgperf still works --------------------------------------------------------

$node->safe_psql('postgres', 'SELECT count(*) FROM w WHERE c3 = 42') for 1 .. 7;
is( untracked(q{
		SELECT s.calls || ' ' || s.query || ' / ' || replace(p.plan, E'\n', ' ')
		  FROM pgperf.statements s JOIN pgperf.plans p USING (queryid, planid)
		 WHERE s.query LIKE 'SELECT count(*) FROM w%'}),
	'7 SELECT count(*) FROM w WHERE c3 = $1 / Aggregate   ->  Seq Scan on w         Filter: (c3 = 42)',
	'a fresh statement: 7 calls, its normalized text and its plan');

ok(!$node->log_contains(qr/ERROR|WARNING|could not capture/),
	'no error or warning in the server log');

$node->stop;
done_testing();
