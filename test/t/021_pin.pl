# Plan pinning with the module each major has: pg_hint_plan's hint table
# (17 and later) and pg_plan_advice with pg_stash_advice (19).  For each one
# installed, three regressions are undone by pinning the old plan (a planner
# setting, an ANALYZE of changed data, a switch to a generic plan): the next
# executions run with the old planid and compare() shows the plan back; the
# pin survives a restart; unpin() removes exactly its own row; a pin whose
# index was dropped is broken.  Then pgperf.auto_pin does the same unasked,
# logs it, and takes the pin back once it is broken.  Everything asserted is
# a plan shape or a planid, never a time.  Skipped, saying so, where no
# module is installed (PostgreSQL 15 and 16 have none).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $probe = PostgreSQL::Test::Cluster->new('pin_probe');
$probe->init;
$probe->start;
my $major = int($probe->safe_psql('postgres', 'SHOW server_version_num') / 10000);
my $libdir = $probe->safe_psql('postgres', q{SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'});
my $have_hints = $major >= 17 && $probe->safe_psql('postgres',
	q{SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_hint_plan'}) == 1;
my $have_advice = $major >= 19 && -e "$libdir/pg_plan_advice.so" && $probe->safe_psql('postgres',
	q{SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stash_advice'}) == 1;
$probe->stop;

my @methods;
push @methods, 'hints' if $have_hints;
push @methods, 'advice' if $have_advice;
plan skip_all => "PostgreSQL $major has neither pg_hint_plan 1.7+ nor pg_plan_advice installed: nothing can enforce a plan"
  unless @methods;
diag("pinning with: @methods (PostgreSQL $major)");

# A node whose only enforcing module is the one of 'method', with pgperf
# and that module's extension created, started.
sub configure_node
{
	my ($node, $method, $extra) = @_;
	my $conf = $method eq 'hints' ? q{
shared_preload_libraries = 'pg_hint_plan,pgperf'
pg_hint_plan.enable_hint_table = on
} : q{
shared_preload_libraries = 'pg_plan_advice,pg_stash_advice,pgperf'
pg_stash_advice.stash_name = 'pgperf'
};
	$node->append_conf('postgresql.conf', $conf . q{
max_parallel_workers_per_gather = 0
jit = off
pgperf.compare_min_calls = 5
pgperf.compare_min_change = 0.5
pgperf.regression_check_interval = 200ms
pgperf.ddl_window_interval = 0
} . ($extra // ''));
	$node->start;
	# pg_hint_plan reads its own (not yet made) table while its script runs
	$node->safe_psql('postgres', $method eq 'hints' ?
		q{SET pg_hint_plan.enable_hint_table = off; CREATE EXTENSION pg_hint_plan;} :
		q{CREATE EXTENSION pg_stash_advice;});
	$node->safe_psql('postgres', 'CREATE EXTENSION pgperf');
	return $node;
}

# The node of 'method' with the scenario tables t, u and g.
sub start_node
{
	my ($method, $extra) = @_;
	my $node = PostgreSQL::Test::Cluster->new("pin_$method");
	$node->init;
	configure_node($node, $method, $extra);
	$node->safe_psql('postgres', q{
		CREATE TABLE t (id int, grp int, pad text);
		INSERT INTO t SELECT i, i % 1000, repeat('x', 50) FROM generate_series(1, 100000) i;
		CREATE INDEX t_grp ON t (grp);
		CREATE TABLE u (id int, v int, pad text);
		INSERT INTO u SELECT i, i, repeat('x', 50) FROM generate_series(1, 100000) i;
		CREATE INDEX u_v ON u (v);
		-- a is 1 in 0.01% of rows, b is 0 in half of them: a custom plan of
		-- a = 1 AND b = 0 scans g_a alone; a generic one, knowing neither,
		-- ANDs both indexes
		CREATE TABLE g (id int, a int, b int, pad text);
		INSERT INTO g SELECT i, CASE WHEN i % 10000 = 0 THEN 1 ELSE i % 9 + 2 END,
		                        CASE WHEN i % 2 = 0 THEN 0 ELSE i % 999 + 1 END, repeat('x', 50)
		  FROM generate_series(1, 100000) i;
		CREATE INDEX g_a ON g (a);
		CREATE INDEX g_b ON g (b);
		ANALYZE t, u, g;
	});
	return $node;
}

# Runs 'sql' 'n' times, each a top-level statement.
sub run_n
{
	my ($node, $sql, $n, $before) = @_;
	$node->safe_psql('postgres', ($before // '') . join('', map { "$sql;\n" } 1 .. $n));
}

# The planids a statement ran with in the current window.
sub current_plans
{
	my ($node, $like) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT string_agg(planid::text, ',' ORDER BY planid) FROM pgperf.statements
		 WHERE query LIKE '$like' AND window_id = (SELECT current_window FROM pgperf.info)});
}

sub one
{
	my ($node, $sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# An int8 = int8 operator that notes who called it, for a search_path that
# puts schema evil first.
my $evil = q{
	CREATE SCHEMA evil;
	CREATE TABLE evil.calls (backend_type text, a int8, b int8);
	GRANT ALL ON SCHEMA evil TO PUBLIC; GRANT ALL ON evil.calls TO PUBLIC;
	CREATE FUNCTION evil.eq(int8, int8) RETURNS bool LANGUAGE plpgsql AS $$
	BEGIN
	  INSERT INTO evil.calls
	    SELECT backend_type, $1, $2 FROM pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid();
	  RETURN $1 OPERATOR(pg_catalog.=) $2;
	END$$;
	CREATE OPERATOR evil.= (LEFTARG = int8, RIGHTARG = int8, FUNCTION = evil.eq);
};

for my $method (@methods)
{
	my $node = start_node($method);

	# --- a planner setting -------------------------------------------------
	my $q1 = 'SELECT count(pad) FROM t WHERE grp = 7';
	run_n($node, $q1, 6);
	my ($qid, $good) = split /\|/, one($node,
		q{SELECT queryid, planid FROM pgperf.statements WHERE query LIKE 'SELECT count(pad) FROM t%'});
	like(one($node, "SELECT plan FROM pgperf.plans WHERE planid = $good"), qr/t_grp/,
		"$method: the good plan uses the index");
	$node->safe_psql('postgres', q{
		ALTER SYSTEM SET enable_indexscan = off; ALTER SYSTEM SET enable_bitmapscan = off;
		SELECT pg_reload_conf();});
	$node->safe_psql('postgres', 'SELECT pgperf.mark()');
	run_n($node, $q1, 6);
	my $bad = current_plans($node, 'SELECT count(pad) FROM t%');
	isnt($bad, $good, "$method: the setting changed the plan");
	unlike(one($node, "SELECT plan FROM pgperf.plans WHERE planid = $bad"), qr/t_grp/,
		"$method: the new plan scans the table");

	if ($method eq 'hints')
	{
		# a pin rolled back opens no window; a pin opens its window when it
		# commits: executions before then, which cannot see it, are not judged
		my $nwin = one($node, 'SELECT count(*) FROM pgperf.windows');
		one($node, "BEGIN; SELECT pgperf.pin($qid, $good); ROLLBACK;");
		is(one($node, 'SELECT count(*) FROM pgperf.windows'), $nwin,
			'hints: a pin rolled back opens no window');
		my $bg = $node->background_psql('postgres');
		$bg->query_safe("BEGIN; SELECT pgperf.pin($qid, $good);");
		run_n($node, $q1, 3);
		$bg->query_safe('COMMIT');
		$bg->quit;
		is(one($node, "SELECT status FROM pgperf.pins WHERE queryid = $qid"), 'pending',
			'hints: executions before the pin committed are not judged');
		is(one($node, 'SELECT count(*) FROM pgperf.windows'), $nwin + 1,
			'hints: the pin opened its window at commit');
		one($node, "SELECT pgperf.unpin($qid)");
	}
	my $pin = one($node, "SELECT method || ' ' || status FROM pgperf.pin($qid, $good)");
	is($pin, "$method pending", "$method: pinned, pending until it runs");
	run_n($node, $q1, 6);
	is(current_plans($node, 'SELECT count(pad) FROM t%'), $good,
		"$method: the next executions run with the pinned plan, the setting notwithstanding");
	is(one($node, "SELECT status FROM pgperf.pins WHERE queryid = $qid"), 'verified',
		"$method: the pin is verified");
	is(one($node, "SELECT plans_before::text || ' -> ' || plans_after::text FROM pgperf.compare() WHERE queryid = $qid"),
		"{$bad} -> {$good}", "$method: compare() shows the plan back");
	is(one($node, "SELECT reason FROM pgperf.windows ORDER BY window_id DESC LIMIT 1"), 'pin',
		"$method: the pin opened a window");

	# what was installed, and nothing else
	my $installed = $method eq 'hints'
	  ? q{SELECT count(*) FROM hint_plan.hints}
	  : q{SELECT count(*) FROM pg_get_advice_stash_contents('pgperf')};
	is(one($node, $installed), '1', "$method: one entry installed");
	if ($method eq 'hints')
	{
		like(one($node, "SELECT hints FROM hint_plan.hints WHERE query_id = $qid"),
			qr/^(BitmapScan|IndexScan)\(t t_grp\)$/, 'hints: a scan hint naming the alias and the index');
		# a user's own row for another statement is left alone by unpin()
		$node->safe_psql('postgres',
			q{INSERT INTO hint_plan.hints (query_id, application_name, hints) VALUES (42, '', 'SeqScan(x)')});
	}

	# a clean restart keeps the pin and its status
	$node->restart;
	is(one($node, "SELECT status FROM pgperf.pins WHERE queryid = $qid"), 'verified',
		"$method: pin and status survive a restart");
	run_n($node, $q1, 2);
	is(one($node, "SELECT planid FROM pgperf.statements WHERE queryid = $qid AND window_id = (SELECT current_window FROM pgperf.info)"),
		$good, "$method: after the restart the pinned plan still runs");

	# refused: pinned twice; a plan the server does not have
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT pgperf.pin($qid, $good)");
	like($err, qr/is pinned already/, "$method: a second pin is refused");
	($ret, $out, $err) = $node->psql('postgres', "SELECT pgperf.pin(1, 1)");
	like($err, qr/pgperf has no plan 1 of query 1 in this database/, "$method: an unknown plan is refused");

	$node->safe_psql('postgres', "SELECT pgperf.unpin($qid)");
	is(one($node, 'SELECT count(*) FROM pgperf.pins'), '0', "$method: unpinned");
	is(one($node, $installed), $method eq 'hints' ? '1' : '0',
		"$method: unpin() removed exactly its own entry");
	$node->safe_psql('postgres', 'DELETE FROM hint_plan.hints') if $method eq 'hints';
	run_n($node, $q1, 2);
	is(current_plans($node, 'SELECT count(pad) FROM t%'), $bad, "$method: without the pin, the setting rules again");
	$node->safe_psql('postgres', q{
		ALTER SYSTEM RESET enable_indexscan; ALTER SYSTEM RESET enable_bitmapscan;
		SELECT pg_reload_conf();});

	# --- an ANALYZE of changed data -----------------------------------------
	my $q2 = 'SELECT count(pad) FROM u WHERE v < 40';
	run_n($node, $q2, 6);
	my ($qid2, $good2) = split /\|/, one($node,
		q{SELECT queryid, planid FROM pgperf.statements WHERE query LIKE 'SELECT count(pad) FROM u%'});
	$node->safe_psql('postgres', q{UPDATE u SET v = 1 WHERE id % 4 <> 0; ANALYZE u; SELECT pgperf.mark();});
	run_n($node, $q2, 6);
	my $bad2 = current_plans($node, 'SELECT count(pad) FROM u%');
	isnt($bad2, $good2, "$method: ANALYZE of the changed data changed the plan");
	one($node, "SELECT pgperf.pin($qid2, $good2)");
	run_n($node, $q2, 6);
	is(current_plans($node, 'SELECT count(pad) FROM u%'), $good2,
		"$method: after ANALYZE, the pinned plan runs");
	is(one($node, "SELECT plans_before::text || ' -> ' || plans_after::text FROM pgperf.compare() WHERE queryid = $qid2"),
		"{$bad2} -> {$good2}", "$method: compare() shows the plan back after ANALYZE");

	# the index the pinned plan uses is dropped: broken, not silently ignored
	$node->safe_psql('postgres', 'DROP INDEX u_v');
	run_n($node, $q2, 2);
	is(one($node, "SELECT status FROM pgperf.pins WHERE queryid = $qid2"), 'broken',
		"$method: a pin whose index is gone is broken");
	like(one($node, "SELECT status_reason FROM pgperf.pins WHERE queryid = $qid2"),
		qr/public\.u_v, which no longer exists/, "$method: the reason names the index");
	$node->safe_psql('postgres', 'CREATE ROLE peeker');
	is(one($node, "SET ROLE peeker; SELECT status || ': ' || status_reason FROM pgperf.pins WHERE queryid = $qid2"),
		'broken: <insufficient privilege>',
		"$method: another role sees the status, not the reason (it names the plan's indexes)");
	$node->safe_psql('postgres', "SELECT pgperf.unpin($qid2)");

	# --- a switch to a generic plan -------------------------------------------
	my $prep = "PREPARE q(int, int) AS SELECT count(pad) FROM g WHERE a = \$1 AND b = \$2;\n";
	run_n($node, 'EXECUTE q(1, 0)', 6, $prep . "SET plan_cache_mode = force_custom_plan;\n");
	my ($qid3, $good3) = split /\|/, one($node,
		q{SELECT queryid, planid FROM pgperf.statements WHERE query LIKE '%FROM g WHERE%'});
	$node->safe_psql('postgres', 'SELECT pgperf.mark()');
	run_n($node, 'EXECUTE q(1, 0)', 6, $prep . "SET plan_cache_mode = force_generic_plan;\n");
	my $bad3 = current_plans($node, '%FROM g WHERE%');
	isnt($bad3, $good3, "$method: the generic plan is another plan");
	like(one($node, "SELECT plan FROM pgperf.plans WHERE planid = $bad3"), qr/BitmapAnd/,
		"$method: the generic plan ANDs both indexes");
	# pin() plans the prepared statement both ways: hints give the custom
	# plan's shape back to a generic plan; advice does not restrict a
	# bitmap scan to its index, and pin() says the pin holds for custom
	# plans only
	my ($r3, $o3, $e3) = $node->psql('postgres', "SELECT pgperf.pin($qid3, $good3)");
	run_n($node, 'EXECUTE q(1, 0)', 6, $prep . "SET plan_cache_mode = force_generic_plan;\n");
	if ($method eq 'hints')
	{
		is($e3, '', 'hints: the pin holds for generic plans too, no warning');
		is(current_plans($node, '%FROM g WHERE%'), $good3,
			"$method: the generic plan is planned under the pin: the custom plan's shape");
		is(one($node, "SELECT plans_before::text || ' -> ' || plans_after::text FROM pgperf.compare() WHERE queryid = $qid3"),
			"{$bad3} -> {$good3}", "$method: compare() shows the plan back after the switch");
	}
	else
	{
		like($e3, qr/WARNING:  the pin of plan $good3 holds for custom plans only/,
			'advice: pin() warns that a generic plan does not come back');
		is(one($node, "SELECT status FROM pgperf.pins WHERE queryid = $qid3"), 'drifted',
			'advice: and the generic executions show the pin drifted');
	}
	$node->safe_psql('postgres', "SELECT pgperf.unpin($qid3)");

	# --- who may pin ------------------------------------------------------------
	$node->safe_psql('postgres', q{CREATE ROLE pinner LOGIN});
	($ret, $out, $err) = $node->psql('postgres', "SET ROLE pinner; SELECT pgperf.pin($qid, $good)");
	like($err, qr/permission denied for function pin/, "$method: pin() is not granted to PUBLIC");

	# a search_path chosen by someone else (ALTER DATABASE ... SET, here SET)
	# puts an operator of theirs ahead of pg_catalog's: pgperf's own queries
	# under a superuser's pin(), pins and unpin() never call it
	$node->safe_psql('postgres', $evil);
	one($node, "SET search_path = evil, pg_catalog, public;
		SELECT pgperf.pin($qid, $good); SELECT count(*) FROM pgperf.pins; SELECT pgperf.unpin($qid)");
	# (pg_hint_plan's own lookup of each statement the session plans uses
	# it too: hint row's query_id = that statement's query id; pgperf's
	# queries compare a column with $qid, on the right)
	is(one($node, "SELECT count(*) FROM evil.calls WHERE b = $qid"), '0',
		"$method: pin(), pins and unpin() resolve nothing through the caller's search_path");

	# unpin() only with the privileges of the pinned statement's role
	one($node, "SELECT pgperf.pin($qid, $good)");
	$node->safe_psql('postgres', q{
		GRANT USAGE ON SCHEMA pgperf TO pinner;
		GRANT EXECUTE ON FUNCTION pgperf.unpin(bigint) TO pinner;
		GRANT ALL ON pgperf.pin_store TO pinner;});
	($ret, $out, $err) = $node->psql('postgres', "SET ROLE pinner; SELECT pgperf.unpin($qid)");
	like($err, qr/permission denied to unpin query $qid/,
		"$method: unpin() of another role's statement is refused");
	is(one($node, "SELECT count(*) FROM pgperf.pins WHERE queryid = $qid"), '1',
		"$method: and the pin stays");
	if ($method eq 'advice')
	{
		# the stash is not transactional: no pin or unpin a rollback cannot undo
		($ret, $out, $err) = $node->psql('postgres', "BEGIN; SELECT pgperf.unpin($qid); ROLLBACK;");
		like($err, qr/pinning with pg_stash_advice cannot run inside a transaction block/,
			'advice: unpin() is refused inside a transaction block');
	}
	one($node, "SELECT pgperf.unpin($qid)");
	if ($method eq 'advice')
	{
		($ret, $out, $err) = $node->psql('postgres', "BEGIN; SELECT pgperf.pin($qid, $good); ROLLBACK;");
		like($err, qr/pinning with pg_stash_advice cannot run inside a transaction block/,
			'advice: pin() is refused inside a transaction block');
		is(one($node, q{SELECT count(*) FROM pg_get_advice_stash_contents('pgperf')}), '0',
			'advice: and left nothing in the stash');
	}

	if ($method eq 'hints')
	{
		# names pg_hint_plan would split (a form feed) are quoted; names a
		# hint comment cannot hold are refused, saying why.  (Before 18 an
		# alias is not part of the query id: each statement differs in more.)
		my $qa = 'SELECT count(id) FROM t AS U&"a\000Cb" WHERE grp = 21';
		run_n($node, $qa, 6);
		my ($qida, $gooda) = split /\|/, one($node,
			q{SELECT queryid, planid FROM pgperf.statements WHERE query LIKE 'SELECT count(id) FROM t%'});
		$node->safe_psql('postgres', q{
			ALTER SYSTEM SET enable_indexscan = off; ALTER SYSTEM SET enable_bitmapscan = off;
			ALTER SYSTEM SET enable_indexonlyscan = off; SELECT pg_reload_conf();});
		($ret, $out, $err) = $node->psql('postgres', "SELECT pgperf.pin($qida, $gooda)");
		is($err, '', 'hints: an alias with a form feed is pinned (its hint is used)');
		is(one($node, "SELECT hints LIKE '%\"a' || chr(12) || 'b\"%' FROM hint_plan.hints WHERE query_id = $qida"),
			't', 'hints: the alias is quoted');
		one($node, "SELECT pgperf.unpin($qida)");
		$node->safe_psql('postgres', q{
			ALTER SYSTEM RESET ALL; SELECT pg_reload_conf();});
		run_n($node, 'SELECT count(grp) FROM t AS "a*/b" WHERE grp = 22', 2);
		my ($qidc, $goodc) = split /\|/, one($node,
			q{SELECT queryid, planid FROM pgperf.statements WHERE query LIKE 'SELECT count(grp) FROM t%'});
		($ret, $out, $err) = $node->psql('postgres', "SELECT pgperf.pin($qidc, $goodc)");
		like($err, qr/cannot be pinned with hints\nDETAIL:  An alias or index name it uses contains "\/\*" or "\*\/"/,
			'hints: an alias holding "*/" is refused, saying why');
	}
	$node->stop;

	# --- pgperf.auto_pin ----------------------------------------------------------
	$node = start_node_auto($method);
	run_n($node, $q1, 8);
	my ($aqid, $agood) = split /\|/, one($node,
		q{SELECT queryid, planid FROM pgperf.statements WHERE query LIKE 'SELECT count(pad) FROM t%'});
	$node->safe_psql('postgres', q{
		ALTER SYSTEM SET enable_indexscan = off; ALTER SYSTEM SET enable_bitmapscan = off;
		SELECT pg_reload_conf();});
	run_n($node, $q1, 8);
	ok($node->poll_query_until('postgres',
			"SELECT count(*) = 1 FROM pgperf.pins WHERE queryid = $aqid AND auto AND planid = $agood"),
		"$method: auto_pin pinned the old plan unasked");
	ok($node->wait_for_log(qr/pgperf: pinned plan $agood of query $aqid/),
		"$method: and logged it");
	run_n($node, $q1, 6);
	is(current_plans($node, 'SELECT count(pad) FROM t%'), $agood,
		"$method: the automatic pin gives the old plan back");
	# the database's owner chooses its search_path: not the worker's
	$node->safe_psql('postgres', $evil .
		'ALTER DATABASE postgres SET search_path = evil, pg_catalog, public;');
	$node->safe_psql('postgres', 'DROP INDEX t_grp');
	run_n($node, $q1, 2);
	ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pgperf.pins WHERE queryid = $aqid"),
		"$method: a broken automatic pin is taken back");
	ok($node->wait_for_log(qr/pgperf: took back the automatic pin of plan $agood/),
		"$method: and that is logged");
	is(one($node, q{SELECT count(*) FROM evil.calls WHERE backend_type = 'pgperf pin worker'}), '0',
		"$method: the pin worker (a superuser) resolves nothing through the database's search_path");
	one($node, 'SELECT 1::int8 = 2::int8');
	is(one($node, q{SELECT count(*) > 0 FROM evil.calls WHERE backend_type = 'client backend'}), 't',
		"$method: while a client's session does use that operator");
	$node->stop;
}

# The node of 'method' with pgperf.auto_pin on and the table t.
sub start_node_auto
{
	my ($method) = @_;
	my $node = PostgreSQL::Test::Cluster->new("pin_auto_$method");
	$node->init;
	configure_node($node, $method, "pgperf.auto_pin = on\n");
	$node->safe_psql('postgres', q{
		CREATE TABLE t (id int, grp int, pad text);
		INSERT INTO t SELECT i, i % 1000, repeat('x', 50) FROM generate_series(1, 100000) i;
		CREATE INDEX t_grp ON t (grp);
		ANALYZE t;
	});
	return $node;
}

done_testing();
