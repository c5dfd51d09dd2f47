# 002_dump_file.pl: a bad pgperf dump never stops the server from starting.
#
# What this proves: whatever sits in $PGDATA/pg_stat/pgperf.stat at start-up
# (nothing, a truncated copy, a flipped byte, random bytes, a foreign magic,
# another format version, another PostgreSQL major, another struct layout,
# record counts or lengths that do not match the contents, an empty file),
# the server starts, pgperf starts with empty statistics (pgperf.info shows 0
# entries and a new stats_since), the server log says
#   WARNING:  ignoring pgperf dump file "pg_stat/pgperf.stat": <reason>
# with the reason of the check that fired (no warning at all for a missing
# file), the bad file has been removed, and pgperf counts new statements.
# A positive control shows that an unmodified copy of the same dump loads.
#
# The dump is produced for real (activity, then a clean stop), copied aside,
# and mutated.  Some mutations recompute the trailing CRC-32C so that the
# checks behind the checksum (header, record lengths) are reached; the CRC
# code here is first checked against the real dump's trailer.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dumpfile');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pgperf'
autovacuum = off
max_parallel_workers_per_gather = 0
jit = off
});
$node->start;

my $dump = $node->data_dir . '/pg_stat/pgperf.stat';
my $server_version_num = $node->safe_psql('postgres', 'SHOW server_version_num');

sub untracked
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', "SET pgperf.track = none;\n$sql");
}

# ---------------------------------------------------------------------------
# CRC-32C (Castagnoli, reflected 0x82F63B78, init and final xor 0xFFFFFFFF),
# as PostgreSQL's INIT/COMP/FIN_CRC32C compute it.
# ---------------------------------------------------------------------------

my @crc_table;
for my $i (0 .. 255)
{
	my $c = $i;
	$c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
	$crc_table[$i] = $c;
}

sub crc32c
{
	my ($data) = @_;
	my $crc = 0xFFFFFFFF;
	$crc = $crc_table[ ($crc ^ $_) & 0xFF ] ^ ($crc >> 8)
	  for unpack('C*', $data);
	return $crc ^ 0xFFFFFFFF;
}

# Replaces the trailer with the checksum of the (mutated) body.
sub fix_crc
{
	my ($bytes) = @_;
	my $body = substr($bytes, 0, length($bytes) - 4);
	return $body . pack('L', crc32c($body));
}

# Writes 'len' bytes of 'value' (pack template) at 'offset'.
sub patch
{
	my ($bytes, $offset, $template, $value) = @_;
	my $new = pack($template, $value);
	substr($bytes, $offset, length($new)) = $new;
	return $bytes;
}

# ---------------------------------------------------------------------------
# A real dump
# ---------------------------------------------------------------------------

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pgperf;
CREATE TABLE dt (id int PRIMARY KEY, v text);
INSERT INTO dt SELECT g, 'v' || g FROM generate_series(1, 1000) g;
ANALYZE dt;
});
untracked('SELECT pgperf.reset()');
$node->safe_psql(
	'postgres', q{
SELECT v FROM dt WHERE id = 1;
SELECT v FROM dt WHERE id = 2;
SELECT count(*) FROM dt WHERE v LIKE 'v1%';
UPDATE dt SET v = v || 'x' WHERE id <= 10;
PREPARE q(int) AS SELECT v FROM dt WHERE id = $1;
EXECUTE q(3);
});
my $nentries = untracked('SELECT entries FROM pgperf.info');
is($nentries, '4', 'four entries before the stop');
my $orig_since = untracked('SELECT stats_since FROM pgperf.info');
$node->stop;
ok(-f $dump, 'clean stop wrote the dump');

my $real = slurp_file($dump);
my $size = length($real);
note "real dump: $size bytes";

# Header layout (persist.c, DumpHeader, native order, x86-64): nine uint32
# (magic, version, pg_major, stat_key_size, counters_size, plan_entry_size,
# query_key_size, hist_bins, window_size), int32 nwindows at 36, uint32
# next_window_id at 40, int64 windows_dropped at 48, uint32 change_size at
# 56, int32 nchanges at 60, int64 changes_dropped at 64, written_at at 72,
# nqueries at 80, nplans at 88, nentries at 96, evictions, texts_dropped,
# stats_since; 128 bytes.  Then the windows (nwindows x window_size), the
# plan changes (nchanges x change_size), the records, and the CRC-32C.
my $header_size = 128;
my ($magic, $version, $pg_major, $stat_key_size, $counters_size,
	$plan_entry_size, $query_key_size, $hist_bins, $window_size, $nwindows)
  = unpack('L9 l', $real);
my ($change_size, $nchanges) = unpack('x56 L l', $real);
my ($nqueries, $nplans, $nent) = unpack("x80 q3", $real);
is(sprintf('%08x', $magic), '50475046', 'real dump: magic "PGPF"');
is($version,  6,         'real dump: version 6');
cmp_ok($nwindows, '>=', 1, 'real dump: has windows');
# the server's major, as PG_VERSION_NUM / 100 (1500 for 15, 1800 for 18)
my $server_major = int($server_version_num / 100);
is($pg_major, $server_major, "real dump: PG_VERSION_NUM / 100 = $server_major, the server's");
is($nent,     $nentries, 'real dump: entry count');
is( unpack('L', substr($real, $size - 4)),
	crc32c(substr($real, 0, $size - 4)),
	'real dump: trailer is the CRC-32C of everything before it');
cmp_ok($nqueries, '>=', 1, 'real dump: has query records');
cmp_ok($nplans,   '>=', 1, 'real dump: has plan records');

# Where the first query record and the first plan record start.  A query
# record is its key (uint64 queryid, Oid userid, Oid dbid), int32 encoding,
# uint32 len, uint64 last_planid, then len bytes; a plan record is a
# PgperfPlanEntry, then its blob.  In PgperfPlanEntry, blob.len is at 60 and
# plan_len, sample_len, params_len, path_len, pin_len at 64, 68, 72, 76, 80
# (x86-64); checked below on the real dump.
my $query0 = $header_size + $nwindows * $window_size + $nchanges * $change_size;
my $qlen_off = $query0 + $query_key_size + 4;
my $plan0 = $query0;
for (1 .. $nqueries)
{
	my $len = unpack('L', substr($real, $plan0 + $query_key_size + 4, 4));
	$plan0 += $query_key_size + 16 + $len;
}
my ($blob_len, $plan_len, $sample_len, $params_len, $path_len, $pin_len) =
  unpack('L6', substr($real, $plan0 + 60, 24));
is($plan_entry_size, 88, 'PgperfPlanEntry is 88 bytes (x86-64 layout)');
is($plan_len + $sample_len + $params_len + $path_len + $pin_len,
	$blob_len, 'first plan record: text lengths add up to blob.len');
cmp_ok($pin_len, '>', 0, 'first plan record has what pinning needs');
cmp_ok($path_len, '>', 0, 'first plan record has its sample\'s search_path');
cmp_ok($plan_len, '>', 0, 'first plan record has a plan text');

# ---------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------

my $probe = 100;    # a new constant per case: one execution each time

# Starts the (stopped) server with 'content' as the dump (undef: no file) and
# checks the outcome; 'reason' is the expected reason in the WARNING, undef
# for no warning.
sub try_dump
{
	my ($name, $content, $reason) = @_;

	unlink $dump;
	if (defined $content)
	{
		open my $fh, '>:raw', $dump or die "could not write $dump: $!";
		print $fh $content;
		close $fh;
	}
	my $offset = -s $node->logfile;

	ok($node->start(fail_ok => 1), "$name: server starts");
	is(untracked('SELECT entries, plans, queries FROM pgperf.info'),
		'0|0|0', "$name: pgperf starts empty");
	isnt(untracked('SELECT stats_since FROM pgperf.info'),
		$orig_since, "$name: stats_since is new");
	ok(!-e $dump, "$name: the file is gone");
	ok(!$node->log_contains(qr/pgperf loaded/, $offset),
		"$name: nothing was loaded");
	if (defined $reason)
	{
		ok( $node->log_contains(
				qr/WARNING:  ignoring pgperf dump file "pg_stat\/pgperf\.stat": \Q$reason\E\n.*DETAIL:  pgperf starts with empty statistics\./,
				$offset),
			"$name: WARNING ignoring pgperf dump file: $reason");
	}
	else
	{
		ok( !$node->log_contains(
				qr/ignoring pgperf dump file|could not read file "pg_stat\/pgperf/,
				$offset),
			"$name: no warning");
	}

	# pgperf works: a statement is counted, from 1
	$probe++;
	$node->safe_psql('postgres', "SELECT v FROM dt WHERE id = $probe");
	is( untracked(
			q{SELECT calls, rows FROM pgperf.statements
			  WHERE query = 'SELECT v FROM dt WHERE id = $1'}),
		'1|1',
		"$name: pgperf counts new statements");

	$node->stop;
	return;
}

# Positive control: the unmodified dump loads.
{
	my $name = 'unmodified copy';
	unlink $dump;
	open my $fh, '>:raw', $dump or die;
	print $fh $real;
	close $fh;
	my $offset = -s $node->logfile;
	$node->start;
	is(untracked('SELECT entries FROM pgperf.info'),
		$nentries, "$name: loaded, $nentries entries");
	is(untracked('SELECT stats_since FROM pgperf.info'),
		$orig_since, "$name: stats_since restored");
	ok( $node->log_contains(qr/pgperf loaded $nentries statistics entries/,
			$offset),
		"$name: LOG pgperf loaded");
	ok(!-e $dump, "$name: removed after loading");
	$node->stop;
}

# (a) no file: a clean, silent, empty start
try_dump('(a) missing file', undef, undef);

# (b) truncated to half: the CRC is checked first, over the whole file, the
# last 4 bytes of the half being taken for the trailer
try_dump('(b) truncated to half',
	substr($real, 0, int($size / 2)),
	'its checksum does not match');

# (b') truncated to one byte less than a header and a trailer
try_dump('(b2) truncated below header size',
	substr($real, 0, $header_size + 4 - 1),
	'it is too short');

# (c) one byte flipped in the middle
{
	my $bad = $real;
	my $mid = int($size / 2);
	substr($bad, $mid, 1) = chr(ord(substr($bad, $mid, 1)) ^ 0xFF);
	try_dump('(c) one byte flipped', $bad, 'its checksum does not match');
}

# (d) foreign file: random bytes (as long as the real dump)
{
	srand(20240615);
	my $random = join('', map { chr(int(rand(256))) } 1 .. $size);
	try_dump('(d) random bytes', $random, 'its checksum does not match');
}

# (d') foreign file with a valid checksum but another magic
try_dump('(d2) other magic, valid CRC',
	fix_crc(patch($real, 0, 'L', 0x12345678)),
	'it is not a pgperf dump');

# (e) right magic, version field (bytes 4..7) changed, CRC left alone: the
# checksum is verified before the header is looked at, so it is the checksum
# check that fires, not the version check.
try_dump('(e) wrong version, stale CRC',
	patch($real, 4, 'L', 99),
	'its checksum does not match');

# (e') the same with the CRC recomputed: now the version check fires
try_dump('(e2) wrong version, valid CRC',
	fix_crc(patch($real, 4, 'L', 99)),
	'it was written by another version of pgperf');

# (f) an empty file
try_dump('(f) empty file', '', 'it is too short');

# Further header checks, each reached with a valid CRC.
try_dump('(g) other PostgreSQL major',
	fix_crc(patch($real, 8, 'L', 1400)),
	'it was written by another PostgreSQL major version');
try_dump('(h) other counters layout',
	fix_crc(patch($real, 16, 'L', $counters_size + 8)),
	'it was written by a build with another layout');
try_dump('(i) negative record count',
	fix_crc(patch($real, 80, 'q', -1)),
	'its record counts are invalid');
try_dump('(i2) more windows than present',
	fix_crc(patch($real, 36, 'l', 1000000)),
	'it ends inside the windows');
try_dump('(i3) more plan changes than present',
	fix_crc(patch($real, 60, 'l', 1000000)),
	'it ends inside the plan changes');

# Record checks: counts and lengths that do not match the contents.
try_dump('(j) one entry more than present',
	fix_crc(patch($real, 96, 'q', $nent + 1)),
	'it ends inside a statistics entry');
try_dump('(k) one entry less than present',
	fix_crc(patch($real, 96, 'q', $nent - 1)),
	'it has trailing bytes');
try_dump('(l) huge query text length',
	fix_crc(patch($real, $qlen_off, 'L', 0x7FFFFFFF)),
	'it ends inside a query record');
try_dump('(m) plan text lengths do not add up',
	fix_crc(patch($real, $plan0 + 64, 'L', $plan_len + 1)),
	'a plan record is inconsistent');

# And a good dump still loads after all that.
{
	unlink $dump;
	open my $fh, '>:raw', $dump or die;
	print $fh $real;
	close $fh;
	$node->start;
	is(untracked('SELECT entries FROM pgperf.info'),
		$nentries, 'unmodified copy loads again at the end');
	$node->stop;
}

done_testing();
