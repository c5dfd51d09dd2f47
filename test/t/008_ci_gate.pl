# The example of examples/ci_gate: an application's pg_regress suite using
# pgperf as its plan-regression gate.  With the committed baseline it passes;
# with an index dropped it fails on the changed plan; with more data in a
# scanned table it fails on the grown blocks per call.
use strict;
use warnings;
use File::Path qw(rmtree);
use PostgreSQL::Test::Utils;
use Test::More;

my $src = 'examples/ci_gate';
my $work = "${PostgreSQL::Test::Utils::tmp_check}/ci_gate";

# Copies the example afresh, with 'edit' applied to its schema.
sub fresh_copy
{
	my ($edit) = @_;
	rmtree($work);
	mkdir $work or die "mkdir $work: $!";
	for my $f (qw(schema.sql queries.sql baseline.json run.sh pgperf.conf))
	{
		my $content = slurp_file("$src/$f");
		$content = $edit->($content) if $edit && $f eq 'schema.sql';
		open my $fh, '>', "$work/$f" or die;
		print $fh $content;
		close $fh;
	}
	chmod 0755, "$work/run.sh";
	for my $d (qw(sql expected))
	{
		mkdir "$work/$d";
		for my $f (glob "$src/$d/*")
		{
			my $name = (split m{/}, $f)[-1];
			open my $fh, '>', "$work/$d/$name" or die;
			print $fh slurp_file($f);
			close $fh;
		}
	}
}

# Runs the example's suite; returns (exit code, regression.diffs).
sub run_gate
{
	my ($ret) = system("cd '$work' && OUT_DIR='$work/out' ./run.sh > '$work/run.log' 2>&1");
	my $diffs = -f "$work/out/regression.diffs" ? slurp_file("$work/out/regression.diffs") : '';
	return ($ret >> 8, $diffs);
}

fresh_copy();
my ($rc, $diffs) = run_gate();
is($rc, 0, 'the gate passes with the committed baseline')
  or diag(slurp_file("$work/run.log") . $diffs);

fresh_copy(sub { $_[0] =~ s/^CREATE INDEX orders_customer_placed.*$//mr });
($rc, $diffs) = run_gate();
isnt($rc, 0, 'the gate fails when an index is gone');
like($diffs, qr/plan_changed \| SELECT o\.id, o\.placed_at, o\.total_cents/,
	'naming the statement whose plan changed');
like($diffs, qr/Bitmap Index Scan on orders_customer_placed/, 'showing the baseline plan');

fresh_copy(sub { $_[0] =~ s/generate_series\(1, 40000\)/generate_series(1, 160000)/r });
($rc, $diffs) = run_gate();
isnt($rc, 0, 'the gate fails when a statement reads more blocks');
like($diffs, qr/buffers_grew \| SELECT c\.country, count\(\*\), sum\(o\.total_cents\)/,
	'naming the statement that reads more');

done_testing();
