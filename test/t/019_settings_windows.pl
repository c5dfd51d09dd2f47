# Settings that change plans open a window (reason 'settings'): a reload of
# the server's configuration (ALTER SYSTEM then pg_reload_conf(), or an
# edited postgresql.conf) that changed a planner or executor setting opens
# one, seen by the regression watcher, with each change as detail
# ("random_page_cost 4 -> 1.1"); a reload that changed other settings opens
# none; pgperf.ddl_windows = off stops them.  And compare() across such a
# window sees the plans the new settings made.  (ALTER DATABASE/ROLE ... SET
# and ANALYZE are tested in sql/windows.sql.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('settings_windows');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pgperf'
max_parallel_workers_per_gather = 0
pgperf.ddl_window_interval = 0
pgperf.compare_min_calls = 5
});
$node->start;
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgperf regression watcher'}),
	'the regression watcher runs');
$node->safe_psql('postgres', q{
	CREATE EXTENSION pgperf;
	CREATE TABLE st (id int PRIMARY KEY, grp int, pad text);
	INSERT INTO st SELECT g, g % 1000, repeat('x', 100) FROM generate_series(1, 50000) g;
	CREATE INDEX st_grp ON st (grp);
	ANALYZE st;
	SELECT pgperf.reset();
});

# Returns the settings windows, one "detail" a line, oldest first.
sub settings_windows
{
	return $node->safe_psql('postgres',
		q{SELECT string_agg(detail, E'\n' ORDER BY window_id) FROM pgperf.windows WHERE reason = 'settings'});
}

# Runs the lookup by group 'n' times, each in a new session (which reads the
# server's settings as they are now).
sub lookups
{
	my ($n) = @_;
	$node->safe_psql('postgres', "SELECT count(*) FROM st WHERE grp = $_") for 1 .. $n;
}

lookups(10);

# a reload that changes only a setting plans do not depend on: no window;
# then one that changes planner settings: a window naming each change.
# (Should the watcher process both reloads at once, only the planner
# settings are named all the same.)
$node->safe_psql('postgres', q{ALTER SYSTEM SET log_min_duration_statement = '10s'; SELECT pg_reload_conf()});
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET enable_bitmapscan = off;
	ALTER SYSTEM SET enable_indexscan = off;
	ALTER SYSTEM SET random_page_cost = 1.1;
	SELECT pg_reload_conf()});
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pgperf.windows WHERE reason = 'settings'}),
	'the reload opened a settings window');
is(settings_windows(),
	'enable_bitmapscan on -> off, enable_indexscan on -> off, random_page_cost 4 -> 1.1',
	'its detail names each planner setting changed, old and new value, and nothing else');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pgperf.windows}), '2',
	'the reload of log_min_duration_statement alone opened no window');

# the same lookups, now without index or bitmap scans
lookups(10);
my $r = $node->safe_psql('postgres', q{
	SET pgperf.track = none;
	SELECT plan_changed || '|' || calls_before || '|' || calls_after || '|' || reason
	  FROM pgperf.compare() WHERE query LIKE 'SELECT count(*) FROM st WHERE grp%'});
note "compare across the reload: $r";
like($r, qr/^true\|10\|10\|plan changed from .*st_grp.* to Seq Scan on st/,
	'compare() across the settings window: the plan changed, from the index to a seq scan');

# the file itself, edited, and pg_ctl reload
$node->append_conf('postgresql.conf', "work_mem = '32MB'\n");
$node->reload;
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 2 FROM pgperf.windows WHERE reason = 'settings'}),
	'an edited postgresql.conf, reloaded, opened a settings window');
like(settings_windows(), qr/\nwork_mem 4MB -> 32MB$/, 'naming work_mem');

# settings back to their defaults: another window
$node->safe_psql('postgres', q{ALTER SYSTEM RESET ALL; SELECT pg_reload_conf()});
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 3 FROM pgperf.windows WHERE reason = 'settings'}),
	'ALTER SYSTEM RESET ALL, reloaded, opened a settings window');
like(settings_windows(),
	qr/\nenable_bitmapscan off -> on, enable_indexscan off -> on, random_page_cost 1.1 -> 4$/,
	'naming what went back');

# pgperf.ddl_windows = off: a reload opens no window (the setting is read
# after the reload, so the reload that turns it off opens none)
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET pgperf.ddl_windows = off;
	ALTER SYSTEM SET random_page_cost = 2;
	SELECT pg_reload_conf()});
ok($node->poll_query_until('postgres',
		q{SELECT setting = 'off' FROM pg_settings WHERE name = 'pgperf.ddl_windows'}),
	'ddl_windows is off');
# the watcher processes a reload within milliseconds (a SIGHUP sets its
# latch); were ddl_windows not heeded, a fourth window would be there
sleep(2);
is($node->safe_psql('postgres', q{SELECT count(*) FROM pgperf.windows WHERE reason = 'settings'}),
	'3', 'with pgperf.ddl_windows off, a changed random_page_cost opened no window');

$node->stop;
done_testing();
