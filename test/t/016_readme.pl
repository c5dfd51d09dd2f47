# Every ```sql block of README.md, in order, run as written against a
# prepared cluster: pgperf preloaded, the BookWyrm-like, Channable-like and
# examples/ci_gate data loaded, and workloads run so that the comparisons
# have something to say.  A block fails the test when psql reports an error
# (ON_ERROR_STOP), and a few blocks must also show what the README says they
# show (%expect below).
#
# An HTML comment on the line just before a block tells this test what to do
# first (it does not show on GitHub):
#   <!-- readme-test: setup ACTION[, ACTION...] -->   run the actions below
#   <!-- readme-test: skip (why) -->                  do not run the block
# An action this test does not know fails it, so README and test stay in
# step.  Blocks run one psql each, in one database, from one scratch
# directory (the baseline snippet writes and reads baseline.json there).
use strict;
use warnings;
use Cwd qw(getcwd);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $top = getcwd();
my $readme = slurp_file("$top/README.md");

# The blocks, with their line and annotation.
my @blocks;
{
	my @lines = split /\n/, $readme;
	for (my $i = 0; $i < @lines; $i++)
	{
		next unless $lines[$i] =~ /^```sql\s*$/;
		my $start = $i + 1;
		my @sql;
		push @sql, $lines[$i] while ++$i < @lines && $lines[$i] !~ /^```/;
		my $note = $start >= 2 ? $lines[ $start - 2 ] : '';
		my %b = (line => $start, sql => join("\n", @sql) . "\n", setup => [], skip => undef);
		if ($note =~ /^<!--\s*readme-test:\s*skip\s*\((.+)\)\s*-->$/)
		{
			$b{skip} = $1;
		}
		elsif ($note =~ /^<!--\s*readme-test:\s*setup\s+(.+?)\s*-->$/)
		{
			$b{setup} = [ split /\s*,\s*/, $1 ];
		}
		elsif ($note =~ /readme-test/)
		{
			die "README.md line $start: cannot read the annotation: $note";
		}
		push @blocks, \%b;
	}
}
cmp_ok(scalar(@blocks), '>=', 15, 'README.md has its SQL examples');

my $node = PostgreSQL::Test::Cluster->new('readme');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pgperf'
max_parallel_workers_per_gather = 0
jit = off
});
$node->start;

# Runs a psql script file; dies on error.
sub psql_file
{
	my ($file, @vars) = @_;
	$node->command_ok(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', @vars, '-d', $node->connstr('postgres'),
		  '-f', $file ], "loaded $file");
}

# The data: BookWyrm's timeline (scale 1, as in the README's figures), a
# smaller Channable table, the bookshop of examples/ci_gate (orders, for
# plan_shape()).  The extension itself is created by the README's first block.
psql_file("$top/test/data/bookwyrm.sql");
psql_file("$top/test/data/channable.sql", '-v', 'scale=0.1');
psql_file("$top/examples/ci_gate/schema.sql");

# Runs a pgbench script 'n' times, one client, prepared.
sub pgbench
{
	my ($script, $n) = @_;
	$node->command_ok(
		[ 'pgbench', '-n', '-M', 'prepared', '-s', '1', '-t', $n, '-f', "$top/test/data/$script",
		  '-d', $node->connstr('postgres') ],
		"$script x $n");
}

my $index_ddl = 'CREATE INDEX CONCURRENTLY bookwyrm_status_privacy_performance_idx '
  . 'ON bookwyrm_status (deleted, privacy, published_date DESC) WHERE deleted = false';

# What a setup action does.
my %actions = (
	# the application: the timeline query, and the bookshop's queries once
	workload => sub {
		pgbench('bookwyrm_timeline.sql', 30);
		psql_file("$top/examples/ci_gate/queries.sql");
	},
	# the index of the BookWyrm case, created (again) between two runs of
	# the timeline, as in "What did my index do?"
	index => sub {
		# a window for the time without the index: the DROP's own window
		# would be joined by the CREATE's, within ddl_window_interval
		$node->safe_psql('postgres', 'DROP INDEX IF EXISTS bookwyrm_status_privacy_performance_idx');
		$node->safe_psql('postgres', q{SELECT pgperf.mark('without the index')});
		pgbench('bookwyrm_timeline.sql', 30);
		$node->safe_psql('postgres', $index_ddl);
		pgbench('bookwyrm_timeline.sql', 30);
	},
	# a migration of three transactions
	migrate => sub {
		$node->safe_psql('postgres', 'CREATE INDEX CONCURRENTLY bookwyrm_user_active ON bookwyrm_user (is_active)');
		$node->safe_psql('postgres', 'ALTER TABLE bookwyrm_status ADD COLUMN migrated_at timestamptz');
		$node->safe_psql('postgres', 'ANALYZE bookwyrm_status');
	},
	# the Channable case: ten 1% updates and one URL lookup
	channable => sub {
		pgbench('channable_update.sql', 10);
		$node->safe_psql('postgres', q{
			SELECT count(*) FROM image_links WHERE image_link = (SELECT image_link FROM image_links WHERE id = 42)});
	},
);

# What some blocks must show, besides running: a pattern of the SQL, and
# one of its output.
my @expect = (
	[ qr/FROM pgperf\.summary\s+ORDER BY total_exec_ms DESC\s+LIMIT 10/,
	  qr/SELECT s\.id, s\.user_id, u\.username/, 'the summary lists the timeline query' ],
	[ qr/FROM pgperf\.windows;/, qr/\| ddl\s+\| .*CREATE INDEX CONCURRENTLY bookwyrm_status_privacy_performance_idx/,
	  'the windows show the index' ],
	[ qr/FROM pgperf\.compare\(\)\s+WHERE verdict <> 'unchanged'/,
	  qr/\| t\s+\|.*\| improved\s+\| plan changed from Seq Scan on bookwyrm_status s/,
	  'compare(): the timeline query improved, plan changed' ],
	[ qr/pgperf\.plan_diff\(/, qr/^ \+.*bookwyrm_status_privacy_performance_idx/m,
	  'plan_diff() shows the index in the new plan' ],
	[ qr/compare\('before the migration', 'after the migration'\)/,
	  qr/SELECT s\.id, s\.user_id.*\|\s*30\s*\|\s*30\s*\|/,
	  'the migration example compares 30 calls with 30 calls of the timeline query' ],
	[ qr/check_baseline\(:'baseline'\);/, qr/^\(0 rows\)$/m,
	  'check_baseline() finds no problem in the run the baseline was taken from' ],
	[ qr/try_index\('CREATE UNIQUE INDEX ON image_links \(image_link\)'\)/,
	  qr/write \| UPDATE image_links .*\| regressed/, 'try_index(): the update regressed' ],
);

my $scratch = "${PostgreSQL::Test::Utils::tmp_check}/readme";
mkdir $scratch;
my $n = 0;
for my $b (@blocks)
{
	$n++;
	my $where = "README.md block $n (line $b->{line})";
	if (defined $b->{skip})
	{
		note "$where skipped: $b->{skip}";
		next;
	}
	for my $a (@{ $b->{setup} })
	{
		die "$where: unknown readme-test action '$a'" unless $actions{$a};
		$actions{$a}->();
	}
	my $file = "$scratch/block$n.sql";
	open my $fh, '>', $file or die "$file: $!";
	print $fh $b->{sql};
	close $fh;
	my ($stdout, $stderr);
	my $ok = IPC::Run::run(
		[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-f', $file ],
		'>', \$stdout, '2>', \$stderr, init => sub { chdir $scratch or die });
	ok($ok && $stderr !~ /ERROR|FATAL|PANIC/, "$where runs as written")
	  or diag("$b->{sql}\n--- stdout:\n$stdout\n--- stderr:\n$stderr");
	for my $e (@expect)
	{
		next unless $b->{sql} =~ $e->[0];
		like($stdout, $e->[1], "$where: $e->[2]");
	}
}

$node->stop;
done_testing();
