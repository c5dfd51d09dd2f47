# Random SQL (sqlsmith) against a server that preloads pgperf and
# pg_stat_statements, on the scenario data at a tiny scale: proves that 1000
# random queries through pgperf's hooks (reading its views, and calling its
# functions with whatever arguments sqlsmith picks), then every pgperf
# function called with edge-case arguments, cause no crash, no PANIC and no
# internal error (SQLSTATE XX000-XX002) from pgperf, and leave its statistics
# readable and its capture working.  The run is scripts/sqlsmith.sh (the CI and
# long-run tool) against this node, so the log scan is written once.
#
# Then proves that the scan finds what it looks for, so that the first part
# can fail: a crash (a server process killed, the postmaster reinitializing),
# and internal errors, told apart as the script does: one under a statement
# calling pgperf (pgperf's, unless a replay without pgperf brings it back),
# one elsewhere (not pgperf's), one that happens only while pgperf tracks
# statements (pgperf's, found by the replay), and one located in a pgperf
# source file (from a made-up log: pgperf raises none on purpose).
#
# Skipped only when sqlsmith is not installed (scripts/setup.sh installs it).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

if (!grep { -x "$_/sqlsmith" } split(/:/, $ENV{PATH}))
{
	plan skip_all => 'sqlsmith is not installed';
}

my $queries = 1000;

my $node = PostgreSQL::Test::Cluster->new('sqlsmith');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_stat_statements,pgperf'
pgperf.track = all
pgperf.track_planning = on
pgperf.log_regressions = on
# small: eviction and the text area's compaction run during the test
pgperf.max = 200
pgperf.text_area_size = 512kB
# SQLSTATEs and LOCATIONs in the log, which the scan reads
log_error_verbosity = verbose
# sqlsmith's queries are long: the log keeps only errors and their statements
log_statement = none
# a crash is counted and the run goes on
restart_after_crash = on
shared_buffers = 32MB
jit = off
});
$node->start;

my $tmp = PostgreSQL::Test::Utils::tempdir;

# Runs scripts/sqlsmith.sh with these arguments: (exit status, stdout).
sub smith
{
	my @args = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'scripts/sqlsmith.sh', @args ], '>', \$out, '2>', \$err);
	my $rc = $? >> 8;
	note "scripts/sqlsmith.sh @args: exit status $rc\n$out";
	note "stderr:\n$err" if $rc != 0;
	return ($rc, $out);
}

# 1. sqlsmith against the node
my ($rc, $out) = smith(
	'--connstr', $node->connstr, '--server-log', $node->logfile,
	'--out', "$tmp/run", '--seed', '1', '--timeout', '600', $queries);
is($rc, 0, 'scripts/sqlsmith.sh passes');
like($out, qr/^sqlsmith queries: $queries of $queries .*exit status 0\)$/m,
	"sqlsmith ran its $queries queries");
my ($ok) = $out =~ /^sqlsmith outcomes: (\d+) ok/m;
cmp_ok($ok // 0, '>', 0, 'some of the random queries succeeded');
my ($named) = $out =~ /^queries naming a pgperf object: (\d+) of/m;
cmp_ok($named // 0, '>', 0, 'some of the random queries used pgperf objects');
my ($edge) = $out =~ /^edge-case calls of pgperf functions: (\d+),/m;
cmp_ok($edge // 0, '>', 100, 'pgperf functions called with edge-case arguments');
like($out, qr/^crashes: 0$/m, 'no crash');
like($out, qr/^postmaster reinitializations: 0$/m, 'no postmaster reinitialization');
like($out, qr/^PANICs: 0$/m, 'no PANIC');
like($out, qr/^assertion failures: 0$/m, 'no assertion failure');
like($out, qr/^pgperf internal errors: 0$/m, 'no internal error from pgperf');
like($out, qr/^new statement recorded after sqlsmith: yes$/m,
	'pgperf still records statements after sqlsmith');
like($out, qr/^pgperf at the end: pgperf\.statements=\d+ pgperf\.plans=\d+ pgperf\.info=1 /m,
	'pgperf views readable at the end');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgperf.info'), '1',
	'server up, pgperf.info readable');

# 2. the scan finds internal errors and crashes
my $offset = -s $node->logfile;
$node->safe_psql('postgres', q{
	CREATE FUNCTION smith_boom() RETURNS text LANGUAGE plpgsql
	AS $$BEGIN RAISE EXCEPTION 'smith boom' USING ERRCODE = 'XX000'; END$$;
	CREATE FUNCTION smith_boom_tracked() RETURNS text LANGUAGE plpgsql
	AS $$BEGIN
	  IF current_setting('pgperf.track') <> 'none' THEN
	    RAISE EXCEPTION 'smith boom while tracked' USING ERRCODE = 'XX000';
	  END IF;
	  RETURN 'ok';
	END$$});
my ($r1) = $node->psql('postgres', 'SELECT pgperf.mark(smith_boom())');
my ($r2) = $node->psql('postgres', 'SELECT smith_boom()');
my ($r3) = $node->psql('postgres', 'SELECT smith_boom_tracked()');
isnt($r1 + 0, 0, 'an internal error under a pgperf call');
isnt($r2 + 0, 0, 'an internal error elsewhere');
isnt($r3 + 0, 0, 'an internal error while pgperf tracks statements');
my $launcher = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'autovacuum launcher'});
like($launcher, qr/^\d+$/, 'autovacuum launcher found');
my $before_kill = -s $node->logfile;
kill 'KILL', $launcher;
$node->wait_for_log(
	qr/all server processes terminated; reinitializing.*database system is ready to accept connections/s,
	$before_kill);
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server back after the crash');

# without a server to replay on: by LOCATION, CONTEXT and statement only
($rc, $out) = smith('--scan-log', $node->logfile, '--from-offset', $offset, '--out', "$tmp/scan");
is($rc, 1, 'scan: fails');
like($out, qr/^internal errors: 3$/m, 'scan: three internal errors');
like($out, qr/^pgperf internal errors: 1$/m, 'scan: one of them pgperf\'s');
like($out, qr/^---- #1 pgperf: the statement calls a pgperf function \(not replayed\)\n.*\n.*smith boom\n(?:.*\n){2}STATEMENT: SELECT pgperf\.mark\(smith_boom\(\)\)$/m,
	'scan: the error under pgperf.mark() is pgperf\'s, its statement shown');
like($out, qr/^---- #2 not pgperf: /m, 'scan: the other one is not');
like($out, qr/^crashes: 1$/m, 'scan: one crash');
like($out, qr/^postmaster reinitializations: 1$/m, 'scan: one reinitialization');
like($out, qr/autovacuum launcher process \(PID $launcher\) was terminated by signal 9/,
	'scan: the crash is shown');

# replayed on the node
($rc, $out) = smith('--scan-log', $node->logfile, '--from-offset', $offset,
	'--connstr', $node->connstr, '--out', "$tmp/replay");
is($rc, 1, 'replay: fails (the crash)');
like($out, qr/^pgperf internal errors: 1$/m, 'replay: one internal error is pgperf\'s');
like($out, qr/^---- #1 not pgperf: comes back with pgperf\.track = none and pgperf's objects stubbed$/m,
	'replay: the error under pgperf.mark() comes back without pgperf');
like($out, qr/^---- #2 not pgperf: comes back with pgperf\.track = none \(the statement uses no pgperf object\)$/m,
	'replay: so does the other one');
like($out, qr/^---- #3 pgperf: comes back only while pgperf tracks statements \(with pgperf\.track = none: no error\)$/m,
	'replay: the error that needs pgperf is found');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_namespace WHERE nspname = 'pgperf_stub'}),
	'0', 'replay: its stubs are dropped');

# a made-up log: an internal error whose LOCATION is in pgperf's code, its
# statement not naming pgperf; a parallel worker exiting with code 1 (normal)
my $fake = "$tmp/fake.log";
open my $fh, '>', $fake or die "$fake: $!";
print $fh <<'EOF';
2026-01-01 00:00:00.000 UTC [100] 011_sqlsmith.pl ERROR:  XX000: unexpected plan node 999
2026-01-01 00:00:00.000 UTC [100] 011_sqlsmith.pl LOCATION:  walk_plan, planid.c:123
2026-01-01 00:00:00.000 UTC [100] 011_sqlsmith.pl STATEMENT:  SELECT 1
	FROM t
2026-01-01 00:00:00.000 UTC [100] 011_sqlsmith.pl ERROR:  42883: operator does not exist: point = point
2026-01-01 00:00:00.000 UTC [100] 011_sqlsmith.pl LOCATION:  op_error, parse_oper.c:647
2026-01-01 00:00:00.000 UTC [99] LOG:  00000: background worker "parallel worker" (PID 101) exited with exit code 1
EOF
close $fh;
($rc, $out) = smith('--scan-log', $fake, '--out', "$tmp/fake");
is($rc, 1, 'made-up log: fails');
like($out, qr/^pgperf internal errors: 1$/m, 'made-up log: the error located in planid.c is pgperf\'s');
like($out, qr/^crashes: 0$/m, 'made-up log: a worker exiting with code 1 is no crash');
like($out, qr/^\s+1\s+42883\s+ERROR\s+undefined_function/m, 'made-up log: errors counted by SQLSTATE');

$node->stop;
done_testing();
