# The README's migration example, exactly as written, with a real workload:
#
#   SELECT pgperf.mark('before the migration');
#   -- the workload runs ...
#   -- migrate: several transactions (CREATE INDEX CONCURRENTLY cannot share
#   -- one), each of which may open a window of its own
#   SELECT pgperf.mark('after the migration');
#   -- the workload runs again ...
#   SELECT * FROM pgperf.compare('before the migration', 'after the migration');
#
# compare(label_a, label_b) compares the window labelled a (the time before
# anything changed) with everything from the window labelled b up to the
# next window mark() opened, or now: so the statements of the workload are
# judged, not "gone" or "new", whatever windows the migration (or later DDL,
# ANALYZE, or a settings reload) opened.  Counts and plans are deterministic;
# only the verdict's kind rests on timing, and it is asserted only to be a
# judgement.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('migration');
$node->init;
# the production defaults: DDL within ddl_window_interval (1 min) joins the
# window the first DDL of the migration opened
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pgperf'
max_parallel_workers_per_gather = 0
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pgperf;
	CREATE TABLE shop_order (id int PRIMARY KEY, customer_id int NOT NULL,
	                         status text NOT NULL, total_cents int NOT NULL);
	INSERT INTO shop_order
	SELECT g, 1 + (g * 7919) % 5000, (ARRAY['new', 'paid', 'sent'])[1 + g % 3], 100 + g % 9000
	  FROM generate_series(1, 200000) g;
	CREATE TABLE shop_customer (id int PRIMARY KEY, name text NOT NULL);
	INSERT INTO shop_customer SELECT g, 'c' || g FROM generate_series(1, 5000) g;
	VACUUM ANALYZE shop_order, shop_customer;
});

# The application: an order history by customer (which the migration's
# index serves) and a customer's name by id (which nothing changes).
my $script = "${PostgreSQL::Test::Utils::tmp_check}/shop.sql";
open my $fh, '>', $script or die "$script: $!";
print $fh q{\set c random(1, 5000)
SELECT id, total_cents FROM shop_order WHERE customer_id = :c ORDER BY id DESC LIMIT 10;
SELECT name FROM shop_customer WHERE id = :c;
};
close $fh;

# Runs the application's two statements 'n' times each.
sub workload
{
	my ($n, $what) = @_;
	$node->command_ok(
		[ 'pgbench', '-n', '-M', 'prepared', '-t', $n, '-f', $script,
		  '-d', $node->connstr('postgres') ],
		"the workload x $n, $what");
}

# Returns compare('before the migration', 'after the migration') per
# statement: "verdict|plan_changed|calls_before|calls_after", by text.
sub migration_compare
{
	my %rows = map { split /\t/ } split /\n/, $node->safe_psql('postgres', q{
		SET pgperf.track = none;
		SELECT left(query, 30), verdict || '|' || plan_changed || '|' || calls_before || '|' || calls_after
		  FROM pgperf.compare('before the migration', 'after the migration')
		 WHERE query LIKE 'SELECT % FROM shop_%'},
		extra_params => [ '-A', '-F', "\t" ]);
	return %rows;
}

my $history = 'SELECT id, total_cents FROM sh';
my $name = 'SELECT name FROM shop_customer';

# 1. The example as written.
$node->safe_psql('postgres', q{SELECT pgperf.mark('before the migration')});
workload(30, 'before the migration');
# the migration: one transaction per step, as Django runs them
$node->safe_psql('postgres', 'CREATE INDEX CONCURRENTLY shop_order_customer ON shop_order (customer_id, id DESC)');
$node->safe_psql('postgres', 'ALTER TABLE shop_order ADD COLUMN note text');
$node->safe_psql('postgres', 'ALTER TABLE shop_order ALTER COLUMN customer_id SET STATISTICS 500');
$node->safe_psql('postgres', 'ANALYZE shop_order');
$node->safe_psql('postgres', q{SELECT pgperf.mark('after the migration')});
workload(30, 'after the migration');

my %r = migration_compare();
note explain \%r;
my ($v1, $c1, $b1, $a1) = split /\|/, $r{$history} // '';
is("$b1|$a1", '30|30', 'the order history: every call before and after the migration compared');
is($c1, 'true', 'the order history: its plan changed (the new index)');
unlike($v1, qr/^(new|gone|insufficient_data)$/, "the order history is judged ($v1)");
my ($v2, $c2, $b2, $a2) = split /\|/, $r{$name} // '';
is("$b2|$a2", '30|30', 'the customer lookup: every call compared');
is($c2, 'false', 'the customer lookup: same plan');
unlike($v2, qr/^(new|gone|insufficient_data)$/, "the customer lookup is judged ($v2)");
like($node->safe_psql('postgres', q{
	SELECT reason || ': ' || detail FROM pgperf.windows
	 WHERE window_id > (SELECT window_id FROM pgperf.windows WHERE label = 'before the migration')
	   AND label IS NULL}),
	qr/^ddl: CREATE INDEX CONCURRENTLY shop_order_customer .* \(and 3 more\)$/,
	'the four steps of the migration made one window between the two marks');

# 2. Windows opened after mark('after the migration') (a late index, a
# settings reload) belong to the time after the migration: "after" runs
# from its window up to the next mark(), or now.
$node->safe_psql('postgres', q{SELECT pgperf.mark('before the migration')});
workload(20, 'before the second migration');
$node->safe_psql('postgres', 'DROP INDEX CONCURRENTLY shop_order_customer');
$node->safe_psql('postgres', q{SELECT pgperf.mark('after the migration')});
workload(15, 'after the second migration');
$node->safe_psql('postgres', 'CREATE INDEX shop_order_status ON shop_order (status)');
$node->safe_psql('postgres', q{ALTER SYSTEM SET random_page_cost = 1.5; SELECT pg_reload_conf()});
# the reload joins the window the DDL opened (within ddl_window_interval)
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pgperf.windows WHERE detail LIKE 'CREATE INDEX shop_order_status % (and 1 more)'}),
	'the reload joined the window the DDL opened after the mark');
workload(15, 'after the second migration, later');
is($node->safe_psql('postgres', q{
	SELECT string_agg(reason, ',' ORDER BY window_id) FROM pgperf.windows
	 WHERE window_id > (SELECT max(window_id) FROM pgperf.windows WHERE label = 'after the migration')}),
	'ddl', 'a window opened after the second mark');

%r = migration_compare();
note explain \%r;
($v1, $c1, $b1, $a1) = split /\|/, $r{$history} // '';
($v2, $c2, $b2, $a2) = split /\|/, $r{$name} // '';
is("$b1|$b2", '20|20', 'labels name the latest windows with them: 20 calls before');
is("$a1|$a2", '30|30', 'after: every call since the mark, across the windows opened since');
is($c1, 'true', 'the order history: its plan changed (the index dropped)');
unlike($v1, qr/^(new|gone|insufficient_data)$/, "the order history is judged ($v1)");
unlike($v2, qr/^(new|gone|insufficient_data)$/, "the customer lookup is judged ($v2)");

$node->stop;
done_testing();
