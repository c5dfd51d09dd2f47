# hotspots.awk - per-statement costs of pgperf.so's functions, from two
# callgrind runs of the same statement stream, N and 2N statements long.
#
#   awk -v n=N -v obj=pgperf.so -f hotspots.awk TREE_N TREE_2N SELF_N SELF_2N
#
# TREE_*: callgrind_annotate --inclusive=yes --tree=calling --threshold=100
# SELF_*: callgrind_annotate --inclusive=no --threshold=100
# Per statement = (cost in the 2N run - cost in the N run) / N, which cancels
# start-up, shut-down and first-execution costs.
#
# Prints one tab-separated line per function of the object obj:
#   function  own  inclusive  self  callees  outside
# own = inclusive minus what the function chains to in the server, directly
# or through its callees (standard_ExecutorRun, standard_planner, ...: the
# work that runs with or without pgperf), callees = "name (object) cost [xcalls]; ..." by cost,
# outside = the own cost of the calls that come from outside the object (the
# hooks, callbacks): summed over all functions, what the object costs.
# Sort and format are left to the caller.

function num(s) { gsub(/,/, "", s); return s + 0 }

# Parses one annotate line into P_cost, P_kind ("*", ">" or ""), P_fn,
# P_obj (object file, basename) and P_calls; returns 0 if it is not one.
function parse(line) {
	if (line !~ /^ *[0-9,]+ +\( *[0-9.]+%\) +/)
		return 0
	P_cost = line
	sub(/ *\(.*$/, "", P_cost)
	P_cost = num(P_cost)
	sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", line)
	P_kind = ""
	if (line ~ /^[*>] /) {
		P_kind = substr(line, 1, 1)
		sub(/^[*>] +/, "", line)
	}
	P_obj = ""
	if (match(line, /\[[^]]*\]$/)) {
		P_obj = substr(line, RSTART + 1, RLENGTH - 2)
		line = substr(line, 1, RSTART - 1)
		sub(/.*\//, "", P_obj)
	}
	sub(/ +$/, "", line)
	P_calls = 0
	if (match(line, / \([0-9,]+x\)$/)) {
		P_calls = num(substr(line, RSTART + 2, RLENGTH - 4))
		line = substr(line, 1, RSTART - 1)
	}
	P_fn = line
	sub(/^.*:/, "", P_fn)
	return 1
}

BEGIN {
	chained = "^(standard_ExecutorStart|standard_ExecutorRun|standard_ExecutorFinish|standard_ExecutorEnd|standard_planner|standard_ProcessUtility)$"
}

FNR == 1 { file++ }

{
	if (!parse($0))
		next
	if (file <= 2) {
		# tree: "*" starts a function, ">" lines are its callees
		if (P_kind == "*") {
			cur = ""
			outside = (P_obj != obj)
			if (!outside) {
				cur = P_fn
				pg[cur] = 1
				inc[file, cur] += P_cost
			}
		} else if (P_kind == ">" && outside && P_obj == obj) {
			fromout[file, P_fn] += P_cost
		} else if (P_kind == ">" && cur != "") {
			k = cur SUBSEP P_fn SUBSEP P_obj
			callee[k] = 1
			ccost[file, k] += P_cost
			ccalls[file, k] += P_calls
		}
	} else if (P_kind == "" && P_obj == obj) {
		self[file - 2, P_fn] += P_cost
	}
}

# Per-statement inclusive cost of f.
function incl_of(f) { return (inc[2, f] - inc[1, f]) / n }

# Per-statement cost of f less the chained server work below it: a call to
# a chained function is taken out whole; a call to another function of the
# object is taken out in the proportion that function chains (its own cost
# over its inclusive cost, over all its calls).
function own_of(f,   k, p, c, o, ci) {
	if (f in memo)
		return memo[f]
	memo[f] = incl_of(f)		# a cycle ends here
	o = incl_of(f)
	for (k in callee) {
		split(k, p, SUBSEP)
		if (p[1] != f)
			continue
		c = (ccost[2, k] - ccost[1, k]) / n
		if (p[2] ~ chained)
			o -= c
		else if (p[3] == obj && (p[2] in pg) && p[2] != f) {
			ci = incl_of(p[2])
			if (ci > 0.5)
				o -= c * (1 - own_of(p[2]) / ci)
		}
	}
	memo[f] = o
	return o
}

END {
	for (f in pg) {
		incl = incl_of(f)
		own = own_of(f)
		nc = 0
		for (k in callee) {
			split(k, p, SUBSEP)
			if (p[1] != f)
				continue
			c = (ccost[2, k] - ccost[1, k]) / n
			calls = (ccalls[2, k] - ccalls[1, k]) / n
			if (c < 0.5)
				continue
			nc++
			item[nc] = c
			desc[nc] = sprintf("%s%s %.0f [x%.3g]", p[2], (p[3] == obj ? "" : " (" p[3] ")"), c, calls)
		}
		# callees by cost, highest first
		for (a = 1; a <= nc; a++)
			for (b = a + 1; b <= nc; b++)
				if (item[b] > item[a]) {
					t = item[a]; item[a] = item[b]; item[b] = t
					t = desc[a]; desc[a] = desc[b]; desc[b] = t
				}
		s = ""
		for (a = 1; a <= nc; a++)
			s = s (a > 1 ? "; " : "") desc[a]
		# the own cost of the calls that come from outside the object
		out = (fromout[2, f] - fromout[1, f]) / n
		if (out != 0 && incl > 0.5)
			out *= own / incl
		printf "%s\t%.1f\t%.1f\t%.1f\t%s\t%.1f\n", f, own, incl, (self[2, f] - self[1, f]) / n, s, out
	}
}
