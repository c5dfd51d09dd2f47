# 003_planid_stability.pl: the planid names a plan's shape, not its OIDs.
#
# What this proves: the same plan shape gets the same planid
#   (a) in two different backends,
#   (b) after a restart,
#   (c) after REINDEX CONCURRENTLY of the index it uses (new OID, same name),
#   (d) in another database of the same server with the same schema,
#   (e) on a second, independently initdb'd cluster with the same schema,
#       where every OID differs,
#   (t) for a temporary table, in two concurrent backends whose temporary
#       schemas are pg_temp_N with different N.
# The queryid is core's, not pgperf's: up to PostgreSQL 17 core jumbles a
# relation's OID, so queryids differ wherever the OIDs do (d, e, t); from 18
# on it jumbles the relation's name, so they are equal there.  Each major's
# behaviour is asserted, the planid's in every case.  And the planid
# changes when the shape does:
#   - seq scan -> index scan once an index is created and used,
#   - an index renamed and used under its new name (seen at once, also by a
#     backend that had already fingerprinted the old name), and back again
#     when the old name is restored,
#   - the same table name in another schema (names are schema-qualified),
#     and a schema rename, seen at once by a backend that cached the name.
# planids are read from pgperf.statements, per database, by query text.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $conf = qq{
shared_preload_libraries = 'pgperf'
pgperf.track = top
autovacuum = off
max_parallel_workers_per_gather = 0
jit = off
};

my $node = PostgreSQL::Test::Cluster->new('planid_a');
$node->init;
$node->append_conf('postgresql.conf', $conf);
$node->start;

# PostgreSQL 18 and later jumble relation names instead of OIDs (see above).
my $version_num = $node->safe_psql('postgres', 'SHOW server_version_num');
my $names_jumbled = $version_num >= 180000;
note 'server_version_num '
  . $version_num
  . ': queryids built from relation '
  . ($names_jumbled ? 'names' : 'OIDs');

# Asserts what core's queryids do where the relations' OIDs differ but their
# names do not: differ up to 17, equal from 18 on.
sub queryid_across_oids
{
	my ($got, $other, $what) = @_;
	if ($names_jumbled)
	{
		is($got, $other,
			"$what: the same queryid (18+ jumbles relation names)");
	}
	else
	{
		isnt($got, $other,
			"$what: but another queryid (up to 17 it includes OIDs)");
	}
	return;
}

# The same schema and data everywhere; tables of 10000 rows are sampled
# whole by ANALYZE, so the statistics, hence the plans, are the same.
my $schema = q{
CREATE TABLE ps_t (id int PRIMARY KEY, val text NOT NULL);
INSERT INTO ps_t SELECT g, 'val ' || g FROM generate_series(1, 10000) g;
CREATE TABLE ps_u (id int NOT NULL, c int NOT NULL, pad text);
INSERT INTO ps_u SELECT g, g % 1000, repeat('p', 20) FROM generate_series(1, 10000) g;
ANALYZE ps_t;
ANALYZE ps_u;
};

# Statement texts as pgperf shows them (constants normalized).
my %q = (
	point => 'SELECT val FROM ps_t WHERE id = $1',
	seq   => 'SELECT id FROM ps_u WHERE c = $1',
	join  => 'SELECT count(*) FROM ps_t t JOIN ps_u u ON u.id = t.id WHERE u.c < $1',
);
# What is run.
my %run = (
	point => 'SELECT val FROM ps_t WHERE id = 42',
	seq   => 'SELECT id FROM ps_u WHERE c = 5',
	join  => 'SELECT count(*) FROM ps_t t JOIN ps_u u ON u.id = t.id WHERE u.c < 10',
);

sub untracked
{
	my ($n, $db, $sql) = @_;
	return $n->safe_psql($db, "SET pgperf.track = none;\n$sql");
}

sub reset_stats
{
	my ($n) = @_;
	untracked($n, 'postgres', 'SELECT pgperf.reset()');
	return;
}

# The (queryid, planid) rows of the statement with text 'text' in database
# 'db', as "queryid|planid" lines.
sub entries_of
{
	my ($n, $db, $text) = @_;
	# read from database postgres: the statistics are server-wide, and the
	# extension's views need not exist in 'db'
	return untracked(
		$n, 'postgres',
		qq{SELECT queryid, planid FROM pgperf.statements
		   WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$db')
		     AND query = '$text'
		   ORDER BY queryid, planid});
}

# The planid of the statement's single entry; a string that matches no
# planid (and a diagnostic) if there is not exactly one.
sub planid_of
{
	my ($n, $db, $text) = @_;
	my @rows = split /\n/, entries_of($n, $db, $text);
	if (@rows != 1)
	{
		diag "expected one entry for '$text' in $db, got: @rows";
		return 'none-or-several';
	}
	return (split /\|/, $rows[0])[1];
}

sub queryid_of
{
	my ($n, $db, $text) = @_;
	my @rows = split /\n/, entries_of($n, $db, $text);
	return 'none-or-several' if @rows != 1;
	return (split /\|/, $rows[0])[0];
}

sub explain_plan
{
	my ($n, $db, $sql) = @_;
	return $n->safe_psql($db, "EXPLAIN (COSTS OFF) $sql");
}

$node->safe_psql('postgres', "CREATE EXTENSION pgperf;\n$schema");

like(explain_plan($node, 'postgres', $run{point}),
	qr/Index Scan using ps_t_pkey on ps_t/, 'point select uses ps_t_pkey');
like(explain_plan($node, 'postgres', $run{seq}),
	qr/Seq Scan on ps_u/, 'ps_u.c has no index: seq scan');

# ---------------------------------------------------------------------------
# (a) two backends
# ---------------------------------------------------------------------------

my $s1 = $node->background_psql('postgres');
my $s2 = $node->background_psql('postgres');
isnt($s1->query_safe('SELECT pg_backend_pid()'),
	$s2->query_safe('SELECT pg_backend_pid()'),
	'two sessions, two backends');

reset_stats($node);
$s1->query_safe($run{$_}) for sort keys %run;
my %base = map { $_ => planid_of($node, 'postgres', $q{$_}) } keys %q;
reset_stats($node);
$s2->query_safe($run{$_}) for sort keys %run;
for my $k (sort keys %q)
{
	like($base{$k}, qr/^-?\d+$/, "$k: a planid");
	is(planid_of($node, 'postgres', $q{$k}),
		$base{$k}, "(a) $k: same planid in another backend");
}
isnt($base{point}, $base{seq}, 'different statements, different shapes');

# Both backends together: one entry, two calls.
reset_stats($node);
$s1->query_safe($run{point});
$s2->query_safe($run{point});
is( untracked(
		$node, 'postgres',
		"SELECT count(*), sum(calls) FROM pgperf.statements WHERE query = '$q{point}'"),
	'1|2',
	'(a) both backends count on one entry');

# ---------------------------------------------------------------------------
# (c) REINDEX CONCURRENTLY: new OID, same name
# ---------------------------------------------------------------------------

my $idx_oid = untracked($node, 'postgres', q{SELECT 'ps_t_pkey'::regclass::oid});
$node->safe_psql('postgres', 'REINDEX INDEX CONCURRENTLY ps_t_pkey');
my $idx_oid2 = untracked($node, 'postgres', q{SELECT 'ps_t_pkey'::regclass::oid});
isnt($idx_oid2, $idx_oid, "(c) REINDEX CONCURRENTLY gave ps_t_pkey a new OID ($idx_oid -> $idx_oid2)");
like(explain_plan($node, 'postgres', $run{point}),
	qr/Index Scan using ps_t_pkey on ps_t/, '(c) point select still uses ps_t_pkey');

reset_stats($node);
$s1->query_safe($run{point});    # a backend that fingerprinted the old index
is(planid_of($node, 'postgres', $q{point}),
	$base{point}, '(c) same planid after REINDEX CONCURRENTLY (backend from before)');
reset_stats($node);
$node->safe_psql('postgres', $run{point});    # a new backend
is(planid_of($node, 'postgres', $q{point}),
	$base{point}, '(c) same planid after REINDEX CONCURRENTLY (new backend)');
like(
	untracked(
		$node, 'postgres',
		"SELECT plan FROM pgperf.plans WHERE planid = $base{point}"),
	qr/Index Scan using ps_t_pkey on ps_t/,
	'(c) recorded plan uses ps_t_pkey');

$s1->quit;
$s2->quit;

# ---------------------------------------------------------------------------
# (b) restart
# ---------------------------------------------------------------------------

$node->restart;
reset_stats($node);
$node->safe_psql('postgres', join(";\n", map { $run{$_} } sort keys %run));
for my $k (sort keys %q)
{
	is(planid_of($node, 'postgres', $q{$k}),
		$base{$k}, "(b) $k: same planid after a restart");
}

# ---------------------------------------------------------------------------
# (d) another database, same schema
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other',
	"CREATE TABLE unrelated1 (x int); CREATE TABLE unrelated2 (y text);\n$schema");
isnt(
	untracked($node, 'other',    q{SELECT 'ps_t'::regclass::oid}),
	untracked($node, 'postgres', q{SELECT 'ps_t'::regclass::oid}),
	'(d) ps_t has another OID in the other database');
reset_stats($node);
$node->safe_psql('postgres', join(";\n", map { $run{$_} } sort keys %run));
$node->safe_psql('other',    join(";\n", map { $run{$_} } sort keys %run));
for my $k (sort keys %q)
{
	is(planid_of($node, 'other', $q{$k}),
		$base{$k}, "(d) $k: same planid in another database");
	my $qid = queryid_of($node, 'other', $q{$k});
	like($qid, qr/^-?\d+$/, "(d) $k: one entry in the other database");
	queryid_across_oids($qid, queryid_of($node, 'postgres', $q{$k}),
		"(d) $k");
}

# ---------------------------------------------------------------------------
# (e) another cluster, same schema, other OIDs
# ---------------------------------------------------------------------------

my $node2 = PostgreSQL::Test::Cluster->new('planid_b');
$node2->init;
$node2->append_conf('postgresql.conf', $conf);
$node2->start;
# shift this cluster's OIDs: unrelated objects first
$node2->safe_psql('postgres',
	join('', map { "CREATE TABLE filler$_ (a int PRIMARY KEY, b text);\n" } 1 .. 10)
	  . "CREATE EXTENSION pgperf;\n$schema");
my $oid_a = untracked($node, 'postgres', q{SELECT 'ps_t'::regclass::oid});
my $oid_b = untracked($node2, 'postgres', q{SELECT 'ps_t'::regclass::oid});
isnt($oid_b, $oid_a, "(e) ps_t has another OID on the other cluster ($oid_a, $oid_b)");
isnt(
	untracked($node, 'postgres', q{SELECT system_identifier FROM pg_control_system()}),
	untracked($node2, 'postgres', q{SELECT system_identifier FROM pg_control_system()}),
	'(e) two independent clusters');
$node2->safe_psql('postgres', join(";\n", map { $run{$_} } sort keys %run));
for my $k (sort keys %q)
{
	is(planid_of($node2, 'postgres', $q{$k}),
		$base{$k}, "(e) $k: same planid on another cluster");
	my $qid = queryid_of($node2, 'postgres', $q{$k});
	like($qid, qr/^-?\d+$/, "(e) $k: one entry on the other cluster");
	queryid_across_oids($qid, queryid_of($node, 'postgres', $q{$k}),
		"(e) $k");
}
$node2->stop;

# ---------------------------------------------------------------------------
# (t) temporary tables in two concurrent backends
# ---------------------------------------------------------------------------

my $temp_sql = q{
CREATE TEMP TABLE tt (id int PRIMARY KEY, v text);
INSERT INTO tt SELECT g, 'v' || g FROM generate_series(1, 5000) g;
ANALYZE tt;
};
my $temp_run = 'SELECT v FROM tt WHERE id = 7';
my $temp_q = 'SELECT v FROM tt WHERE id = $1';
my $t1 = $node->background_psql('postgres');
my $t2 = $node->background_psql('postgres');
$t1->query_safe($temp_sql);
$t2->query_safe($temp_sql);
my $nsp1 = $t1->query_safe('SELECT pg_my_temp_schema()::regnamespace');
my $nsp2 = $t2->query_safe('SELECT pg_my_temp_schema()::regnamespace');
like($nsp1, qr/^pg_temp_\d+$/, "(t) first backend's temp schema: $nsp1");
isnt($nsp2, $nsp1, "(t) second backend's temp schema differs: $nsp2");
like($t1->query_safe("EXPLAIN (COSTS OFF) $temp_run"),
	qr/Index Scan using tt_pkey on tt/, '(t) temp table plan: index scan');
reset_stats($node);
$t1->query_safe($temp_run);
$t2->query_safe($temp_run);
my @temp_rows = split /\n/, entries_of($node, 'postgres', $temp_q);
my %temp_planids = map { (split /\|/)[1] => 1 } @temp_rows;
my %temp_queryids = map { (split /\|/)[0] => 1 } @temp_rows;
is(scalar(keys %temp_planids), 1, '(t) one planid for both temp tables');
if ($names_jumbled)
{
	is(scalar(keys %temp_queryids), 1,
		'(t) one queryid: 18+ jumbles the name tt, not the OIDs');
	is( untracked(
			$node, 'postgres',
			"SELECT count(*), sum(calls) FROM pgperf.statements WHERE query = '$temp_q'"),
		'1|2',
		'(t) so one entry counts the calls of both backends');
}
else
{
	is(scalar(keys %temp_queryids), 2,
		'(t) two queryids: the two temp tables have other OIDs');
	is(scalar(@temp_rows), 2, '(t) so two entries, one per backend');
}
$t1->quit;
$t2->quit;

# ---------------------------------------------------------------------------
# The planid changes with the shape
# ---------------------------------------------------------------------------

# seq scan -> index scan after CREATE INDEX
my $s = $node->background_psql('postgres');    # lives across the changes
reset_stats($node);
$s->query_safe($run{seq});
is(planid_of($node, 'postgres', $q{seq}), $base{seq}, 'seq scan planid');
$node->safe_psql('postgres', 'CREATE INDEX ps_u_c_idx ON ps_u (c); ANALYZE ps_u');
like(explain_plan($node, 'postgres', $run{seq}),
	qr/Index Scan using ps_u_c_idx|Bitmap Index Scan on ps_u_c_idx/,
	'the new index is used');
reset_stats($node);
$s->query_safe($run{seq});
my $p_idx = planid_of($node, 'postgres', $q{seq});
isnt($p_idx, $base{seq}, 'CREATE INDEX: seq scan -> index scan changes the planid');
$node->safe_psql('postgres', $run{seq});
is(planid_of($node, 'postgres', $q{seq}), $p_idx, '... the same index planid in a new backend');
like(
	untracked($node, 'postgres', "SELECT plan FROM pgperf.plans WHERE planid = $p_idx"),
	qr/ps_u_c_idx/, '... and its recorded plan names the index');

# Rename the index: same plan but another name, so another planid; the
# session that fingerprinted the old name sees the new one at once.
my $q_before_rename = queryid_of($node, 'postgres', $q{seq});
$node->safe_psql('postgres', 'ALTER INDEX ps_u_c_idx RENAME TO ps_u_c_renamed');
like(explain_plan($node, 'postgres', $run{seq}),
	qr/ps_u_c_renamed/, 'the renamed index is used');
reset_stats($node);
$s->query_safe($run{seq});
my $p_ren = planid_of($node, 'postgres', $q{seq});
isnt($p_ren, $p_idx, 'renamed index: another planid (backend that cached the old name)');
is(queryid_of($node, 'postgres', $q{seq}),
	$q_before_rename, 'renamed index: the queryid is unchanged');
reset_stats($node);
$node->safe_psql('postgres', $run{seq});
is(planid_of($node, 'postgres', $q{seq}), $p_ren, 'renamed index: same planid in a new backend');
like(
	untracked($node, 'postgres', "SELECT plan FROM pgperf.plans WHERE planid = $p_ren"),
	qr/ps_u_c_renamed/, 'renamed index: recorded plan names it');

# And back: the old name gives the old planid again.
$node->safe_psql('postgres', 'ALTER INDEX ps_u_c_renamed RENAME TO ps_u_c_idx');
reset_stats($node);
$s->query_safe($run{seq});
is(planid_of($node, 'postgres', $q{seq}), $p_idx, 'old name restored: old planid again');

# Same table name, another schema: another planid (names are qualified).
$node->safe_psql(
	'postgres', q{
CREATE SCHEMA s1;
CREATE SCHEMA s2;
CREATE TABLE s1.items (id int PRIMARY KEY, v text);
CREATE TABLE s2.items (id int PRIMARY KEY, v text);
INSERT INTO s1.items SELECT g, 'x' FROM generate_series(1, 5000) g;
INSERT INTO s2.items SELECT g, 'x' FROM generate_series(1, 5000) g;
ANALYZE s1.items;
ANALYZE s2.items;
});
reset_stats($node);
$s->query_safe('SET search_path = s1');
$s->query_safe('SELECT v FROM items WHERE id = 3');
$s->query_safe('SET search_path = s2');
$s->query_safe('SELECT v FROM items WHERE id = 3');
my @items = split /\n/, entries_of($node, 'postgres', 'SELECT v FROM items WHERE id = $1');
my %items_planids = map { (split /\|/)[1] => 1 } @items;
is(scalar(keys %items_planids), 2, 's1.items and s2.items: two planids');
my %items_queryids = map { (split /\|/)[0] => 1 } @items;
is(scalar(keys %items_queryids), $names_jumbled ? 1 : 2,
	's1.items and s2.items: '
	  . ($names_jumbled
		? 'one queryid (18+ jumbles the unqualified name)'
		: 'two queryids (other OIDs)'));

# A schema rename is seen at once by the backend that cached the names.
reset_stats($node);
$s->query_safe('SET search_path = s1');
$s->query_safe('SELECT v FROM items WHERE id = 3');
my $p_s1 = planid_of($node, 'postgres', 'SELECT v FROM items WHERE id = $1');
$node->safe_psql('postgres', 'ALTER SCHEMA s1 RENAME TO s1_renamed');
reset_stats($node);
$s->query_safe('SET search_path = s1_renamed');
$s->query_safe('SELECT v FROM items WHERE id = 3');
my $p_s1r = planid_of($node, 'postgres', 'SELECT v FROM items WHERE id = $1');
isnt($p_s1r, $p_s1, 'schema renamed: another planid, in the same backend');
reset_stats($node);
$node->safe_psql('postgres', 'SET search_path = s1_renamed; SELECT v FROM items WHERE id = 3');
is(planid_of($node, 'postgres', 'SELECT v FROM items WHERE id = $1'),
	$p_s1r, 'schema renamed: same planid in a new backend');
$s->quit;

$node->stop;
done_testing();
