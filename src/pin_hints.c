/*
 * pin_hints.c
 *		Pinning with pg_hint_plan: hints generated from a plan's captured
 *		skeleton (pin_capture.c), and the rows pgperf writes into
 *		pg_hint_plan's hint table.
 *
 * Hints are generated for each scan (SeqScan, IndexScan, IndexOnlyScan,
 * BitmapScan with the index names, TidScan; Parallel for a parallel-aware
 * scan under a Gather), each join (NestLoop, HashJoin or MergeJoin over the
 * set of relations it joins; Memoize or NoMemoize for a nested loop), and
 * one Leading hint that nests the main query level's join tree in pairs
 * (outer, inner), which fixes both the order and the direction of every
 * join.  pg_hint_plan names relations by their range-table alias, not by
 * OID: an alias scanned twice with different methods gets no scan hint, and
 * the check by replanning (pin.c) tells whether what was generated gives the
 * plan back.
 *
 * The hint table (pg_hint_plan 1.7 and later) is keyed by query id and
 * application name; pgperf writes rows with an empty application name (for
 * every application), notes the row's id, and removes only a row with that
 * id, query id and text.  It never overwrites a row it did not write.  All
 * of it runs as the caller, whose rights on hint_plan.hints apply.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "compat.h"
#include "pin.h"

/* ---------- the pin section ---------- */

/* Reads a double-quoted name at *p; advances past it.  NULL if none. */
static char *
read_name(const char **p)
{
	StringInfoData buf;
	const char *s = *p;

	while (*s == ' ')
		s++;
	if (*s != '"')
		return NULL;
	s++;
	initStringInfo(&buf);
	for (;;)
	{
		if (*s == '\0')
			return NULL;
		if (*s == '"')
		{
			if (s[1] != '"')
				break;
			s++;
		}
		appendStringInfoChar(&buf, *s++);
	}
	*p = s + 1;
	return buf.data;
}

/* Parses a pin section; NULL if it is not one. */
PgperfPinInfo *
PgperfPinParse(const char *section)
{
	PgperfPinInfo *info;
	const char *p;
	size_t		mlen = strlen(PGPERF_PIN_MAGIC);

	if (section == NULL || strncmp(section, PGPERF_PIN_MAGIC, mlen) != 0)
		return NULL;
	info = palloc0(sizeof(PgperfPinInfo));
	p = section + mlen;
	while (*p != '\0')
	{
		const char *eol = strchr(p, '\n');

		if (strncmp(p, "advice\n", 7) == 0)
		{
			info->advice = pstrdup(p + 7);
			break;
		}
		if (eol == NULL)
			eol = p + strlen(p);
		if (strncmp(p, "rel ", 4) == 0)
		{
			const char *q = p + 4;
			PgperfPinAlias *a = palloc(sizeof(PgperfPinAlias));

			a->name = read_name(&q);
			a->count = a->name ? atoi(q) : 0;
			if (a->name)
				info->aliases = lappend(info->aliases, a);
		}
		else if (strncmp(p, "idx ", 4) == 0)
			info->indexes = lappend(info->indexes, pnstrdup(p + 4, eol - p - 4));
		else if (strncmp(p, "tree ", 5) == 0)
			info->tree = pnstrdup(p + 5, eol - p - 5);
		p = *eol ? eol + 1 : eol;
	}
	return info;
}

/* ---------- the skeleton ---------- */

/* One node of the skeleton. */
typedef struct SNode
{
	char		kind[12];
	char	   *alias;			/* scans, rte, sub */
	List	   *names;			/* index names */
	int			workers;		/* gather */
	List	   *kids;
} SNode;

/* Parses one node at *p; NULL on a malformed skeleton. */
static SNode *
parse_node(const char **p)
{
	const char *s = *p;
	SNode	   *n;
	int			k = 0;

	while (*s == ' ')
		s++;
	if (*s != '(')
		return NULL;
	s++;
	n = palloc0(sizeof(SNode));
	while (*s >= 'a' && *s <= 'z' && k < (int) sizeof(n->kind) - 1)
		n->kind[k++] = *s++;
	for (;;)
	{
		while (*s == ' ')
			s++;
		if (*s == ')')
			break;
		if (*s == '(')
		{
			SNode	   *kid = parse_node(&s);

			if (kid == NULL)
				return NULL;
			n->kids = lappend(n->kids, kid);
		}
		else if (*s == '"')
		{
			char	   *name = read_name(&s);

			if (name == NULL)
				return NULL;
			if (n->alias == NULL)
				n->alias = name;
			else
				n->names = lappend(n->names, name);
		}
		else if (*s >= '0' && *s <= '9')
			n->workers = (int) strtol(s, (char **) &s, 10);
		else
			return NULL;
	}
	*p = s + 1;
	return n;
}

/* Reports whether a node is a scan of a relation (kind, without 'p'). */
static const char *
scan_kind(const SNode *n)
{
	const char *k = n->kind;

	if (k[0] == 'p' && strcmp(k, "op") != 0)
		k++;
	if (strcmp(k, "seq") == 0 || strcmp(k, "idx") == 0 || strcmp(k, "ionly") == 0 ||
		strcmp(k, "bmp") == 0 || strcmp(k, "tid") == 0 || strcmp(k, "scan") == 0)
		return k;
	return NULL;
}

/* Reports whether a node is a join. */
static bool
is_join(const SNode *n)
{
	return strcmp(n->kind, "nl") == 0 || strcmp(n->kind, "hj") == 0 ||
		strcmp(n->kind, "mj") == 0;
}

/* Appends a name as pg_hint_plan reads it: quoted when it must be. */
static void
put_hint_name(StringInfo buf, const char *name)
{
	bool		plain = name[0] != '\0';

	/* pg_hint_plan ends a plain name at anything isspace() takes */
	for (const char *c = name; *c && plain; c++)
		if (isspace((unsigned char) *c) || *c == '(' || *c == ')' || *c == '"')
			plain = false;
	if (plain)
	{
		appendStringInfoString(buf, name);
		return;
	}
	appendStringInfoChar(buf, '"');
	for (const char *c = name; *c; c++)
	{
		if (*c == '"')
			appendStringInfoChar(buf, '"');
		appendStringInfoChar(buf, *c);
	}
	appendStringInfoChar(buf, '"');
}

/* Hints being generated. */
typedef struct HintGen
{
	List	   *scan_aliases;	/* char *: aliases with a scan hint */
	List	   *scan_hints;		/* char *: their hints, in step */
	List	   *conflicted;		/* char *: aliases scanned two ways */
	StringInfoData joins;
} HintGen;

/* Adds the base relations below 'n' (not into subqueries) to 'rels'. */
static List *
rels_below(const SNode *n, List *rels)
{
	ListCell   *lc;

	if (scan_kind(n) || strcmp(n->kind, "rte") == 0 || strcmp(n->kind, "sub") == 0)
		return n->alias ? lappend(rels, n->alias) : rels;
	foreach(lc, n->kids)
		rels = rels_below(lfirst(lc), rels);
	return rels;
}

/* Appends 'Keyword(a b c)' over the relations below 'n'. */
static void
put_set_hint(StringInfo buf, const char *keyword, const SNode *n)
{
	List	   *rels = rels_below(n, NIL);
	ListCell   *lc;

	appendStringInfo(buf, "%s(", keyword);
	foreach(lc, rels)
	{
		if (lc != list_head(rels))
			appendStringInfoChar(buf, ' ');
		put_hint_name(buf, lfirst(lc));
	}
	appendStringInfoString(buf, ") ");
}

/* Notes the scan hint of an alias; one alias scanned two ways gets none. */
static void
note_scan(HintGen *g, const char *alias, const char *hint)
{
	ListCell   *la;
	ListCell   *lh;

	forboth(la, g->scan_aliases, lh, g->scan_hints)
	{
		if (strcmp(lfirst(la), alias) != 0)
			continue;
		if (strcmp(lfirst(lh), hint) != 0 && !list_member(g->conflicted, makeString((char *) alias)))
			g->conflicted = lappend(g->conflicted, makeString(pstrdup(alias)));
		return;
	}
	g->scan_aliases = lappend(g->scan_aliases, (char *) alias);
	g->scan_hints = lappend(g->scan_hints, (char *) hint);
}

/* Generates the scan and join hints of 'n' and below; 'workers' of a Gather. */
static void
gen(HintGen *g, const SNode *n, int workers)
{
	const char *k = scan_kind(n);
	ListCell   *lc;

	if (k != NULL && n->alias != NULL)
	{
		StringInfoData h;
		const char *kw = strcmp(k, "seq") == 0 ? "SeqScan" :
			strcmp(k, "idx") == 0 ? "IndexScan" :
			strcmp(k, "ionly") == 0 ? "IndexOnlyScan" :
			strcmp(k, "bmp") == 0 ? "BitmapScan" :
			strcmp(k, "tid") == 0 ? "TidScan" : NULL;

		if (kw == NULL)
			return;
		initStringInfo(&h);
		appendStringInfo(&h, "%s(", kw);
		put_hint_name(&h, n->alias);
		foreach(lc, n->names)
		{
			appendStringInfoChar(&h, ' ');
			put_hint_name(&h, lfirst(lc));
		}
		appendStringInfoChar(&h, ')');
		if (n->kind[0] == 'p' && workers > 0)
		{
			appendStringInfoString(&h, " Parallel(");
			put_hint_name(&h, n->alias);
			appendStringInfo(&h, " %d hard)", workers);
		}
		note_scan(g, n->alias, h.data);
		return;
	}
	if (is_join(n))
	{
		SNode	   *inner = list_length(n->kids) == 2 ? lsecond(n->kids) : NULL;

		put_set_hint(&g->joins, strcmp(n->kind, "nl") == 0 ? "NestLoop" :
					 strcmp(n->kind, "hj") == 0 ? "HashJoin" : "MergeJoin", n);
		if (strcmp(n->kind, "nl") == 0 && inner != NULL)
			put_set_hint(&g->joins, strcmp(inner->kind, "memo") == 0 ?
						 "Memoize" : "NoMemoize", n);
	}
	if (strcmp(n->kind, "gather") == 0)
		workers = n->workers;
	foreach(lc, n->kids)
		gen(g, lfirst(lc), workers);
}

/* Appends the Leading nesting of 'n'; false if it has no single join tree. */
static bool
put_leading(StringInfo buf, const SNode *n)
{
	if (scan_kind(n) || strcmp(n->kind, "rte") == 0 || strcmp(n->kind, "sub") == 0)
	{
		if (n->alias == NULL)
			return false;
		put_hint_name(buf, n->alias);
		return true;
	}
	if (is_join(n) && list_length(n->kids) == 2)
	{
		appendStringInfoChar(buf, '(');
		if (!put_leading(buf, linitial(n->kids)))
			return false;
		appendStringInfoChar(buf, ' ');
		if (!put_leading(buf, lsecond(n->kids)))
			return false;
		appendStringInfoChar(buf, ')');
		return true;
	}
	if (list_length(n->kids) == 1)
		return put_leading(buf, linitial(n->kids));
	return false;
}

/* Returns the topmost join of the main level below 'n', or NULL. */
static const SNode *
top_join(const SNode *n)
{
	if (is_join(n))
		return n;
	if (scan_kind(n) || strcmp(n->kind, "sub") == 0 || list_length(n->kids) != 1)
		return NULL;
	return top_join(linitial(n->kids));
}

/* Returns the hints that should give the plan back, or NULL with *why_not (a sentence). */
char *
PgperfHintsFromPlan(const PgperfPinInfo *info, char **why_not)
{
	const char *p;
	SNode	   *main = NULL;
	HintGen		g;
	StringInfoData out;
	ListCell   *la;
	ListCell   *lh;
	const SNode *join;

	*why_not = NULL;
	if (info == NULL || info->tree == NULL)
	{
		*why_not = "pgperf did not capture what hint generation needs for this plan";
		return NULL;
	}
	memset(&g, 0, sizeof(g));
	initStringInfo(&g.joins);
	p = info->tree;
	while (*p == ' ')
		p++;
	while (*p == '(')
	{
		SNode	   *n = parse_node(&p);

		if (n == NULL)
		{
			*why_not = "The captured plan skeleton is malformed";
			return NULL;
		}
		if (main == NULL)
			main = n;
		gen(&g, n, 0);
		while (*p == ' ')
			p++;
	}
	if (main == NULL)
	{
		*why_not = "The captured plan skeleton is empty";
		return NULL;
	}

	initStringInfo(&out);
	forboth(la, g.scan_aliases, lh, g.scan_hints)
	{
		if (list_member(g.conflicted, makeString(lfirst(la))))
			continue;
		appendStringInfo(&out, "%s ", (char *) lfirst(lh));
	}
	appendStringInfoString(&out, g.joins.data);
	join = top_join(main);
	if (join != NULL)
	{
		StringInfoData lead;

		initStringInfo(&lead);
		if (put_leading(&lead, join))
			appendStringInfo(&out, "Leading(%s) ", lead.data);
	}
	while (out.len > 0 && out.data[out.len - 1] == ' ')
		out.data[--out.len] = '\0';
	if (out.len == 0)
	{
		*why_not = "Its plan has no scan or join that pg_hint_plan can hint";
		return NULL;
	}
	/* checked in a hint comment, which such a name would end or nest */
	if (strstr(out.data, "/*") != NULL || strstr(out.data, "*/") != NULL)
	{
		*why_not = "An alias or index name it uses contains \"/*\" or \"*/\", which a hint comment cannot hold";
		return NULL;
	}
	return out.data;
}

/* ---------- the hint table ---------- */

/* Reports whether pg_hint_plan is loaded in this backend. */
bool
PgperfHintsLoaded(void)
{
	return PgperfModuleLoaded("pg_hint_plan.enable_hint");
}

/* Runs 'sql' through SPI as the caller; returns SPI's result code. */
static int
spi_run(const char *sql, int nargs, Oid *types, Datum *values, bool read_only)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL,
										   read_only, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute_with_args failed for \"%s\": %s", sql,
			 SPI_result_code_string(rc));
	return rc;
}

/* Returns why hints cannot pin here (and a hint), or NULL if they can. */
const char *
PgperfHintsUnavailable(const char **hint)
{
	const char *why = NULL;
	bool		has_column;

	*hint = NULL;
	if (!PGPERF_CAN_PIN_HINTS)
	{
		*hint = psprintf("pg_hint_plan keys its hint table by query id from its version 1.7 on, "
						 "which exists for PostgreSQL 17 and later; upgrade to 17 or later and "
						 "install postgresql-NN-pg-hint-plan (Debian) there.");
		return psprintf("plan pinning needs pg_hint_plan 1.7 or later, which PostgreSQL %d does not have",
						PGPERF_MAJOR);
	}
	if (!PgperfHintsLoaded())
	{
		*hint = psprintf("Install postgresql-%d-pg-hint-plan (Debian), add pg_hint_plan to "
						 "shared_preload_libraries (or session_preload_libraries) and reconnect.",
						 PGPERF_MAJOR);
		return "pg_hint_plan is not loaded in this session";
	}
	if (!OidIsValid(get_extension_oid("pg_hint_plan", true)))
	{
		*hint = "Run CREATE EXTENSION pg_hint_plan in this database: pins live in its hint table.";
		return "extension \"pg_hint_plan\" is not installed in this database";
	}
	SPI_connect();
	spi_run("SELECT 1 FROM pg_catalog.pg_attribute "
			"WHERE attrelid = pg_catalog.to_regclass('hint_plan.hints') "
			"AND attname = 'query_id' AND NOT attisdropped", 0, NULL, NULL, true);
	has_column = SPI_processed > 0;
	SPI_finish();
	if (!has_column)
	{
		*hint = "Run ALTER EXTENSION pg_hint_plan UPDATE.";
		why = "pg_hint_plan's hint table has no query_id column (pg_hint_plan 1.7 or later is needed)";
	}
	else if (strcmp(GetConfigOption("pg_hint_plan.enable_hint_table", false, false), "on") != 0 ||
			 strcmp(GetConfigOption("pg_hint_plan.enable_hint", false, false), "on") != 0)
	{
		*hint = "Turn it on for every session: ALTER SYSTEM SET pg_hint_plan.enable_hint_table = on; "
			"SELECT pg_reload_conf(); (and keep pg_hint_plan.enable_hint on).";
		why = "pg_hint_plan.enable_hint_table is off: pg_hint_plan would not read the hints pgperf writes";
	}
	return why;
}

/* Returns the id of the hint table's row for queryid (all applications), or 0; sets *hints. */
int64
PgperfHintsExisting(uint64 queryid, char **hints)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum((int64) queryid)};
	int64		id = 0;

	*hints = NULL;
	SPI_connect();
	spi_run("SELECT id::int8, hints FROM hint_plan.hints "
			"WHERE query_id = $1 AND application_name = '' LIMIT 1",
			1, types, values, true);
	if (SPI_processed > 0)
	{
		bool		isnull;

		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										 1, &isnull));
		*hints = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		if (*hints)
			*hints = MemoryContextStrdup(CurTransactionContext, *hints);
	}
	SPI_finish();
	return id;
}

/* Writes the row of a pin into the hint table; returns its id. */
int64
PgperfHintsInstall(uint64 queryid, const char *hints)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum((int64) queryid), CStringGetTextDatum(hints)};
	bool		isnull;
	int64		id;

	SPI_connect();
	spi_run("INSERT INTO hint_plan.hints (query_id, application_name, hints) "
			"VALUES ($1, '', $2) RETURNING id::int8", 2, types, values, false);
	if (SPI_processed != 1)
		elog(ERROR, "could not insert into hint_plan.hints");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
									 &isnull));
	SPI_finish();
	CommandCounterIncrement();
	return id;
}

/*
 * Runs 'head' (a DELETE or SELECT of hint_plan.hints) on the row pin() wrote,
 * if it is still as written; returns the number of rows it found.
 */
static uint64
row_as_written(const char *head, int64 id, uint64 queryid, const char *hints, bool read_only)
{
	Oid			types[3] = {INT8OID, INT8OID, TEXTOID};
	Datum		values[3] = {Int64GetDatum(id), Int64GetDatum((int64) queryid),
	CStringGetTextDatum(hints)};
	uint64		found;

	SPI_connect();
	spi_run(psprintf("%s WHERE id = $1 AND query_id = $2 AND application_name = '' AND hints = $3",
					 head), 3, types, values, read_only);
	found = SPI_processed;
	SPI_finish();
	return found;
}

/* Removes the row pin() wrote, if it is still as written; reports whether it did. */
bool
PgperfHintsRemove(int64 id, uint64 queryid, const char *hints)
{
	bool		removed = row_as_written("DELETE FROM hint_plan.hints", id, queryid, hints,
										 false) > 0;

	CommandCounterIncrement();
	return removed;
}

/* Reports whether the row pin() wrote is still there as written. */
bool
PgperfHintsPresent(int64 id, uint64 queryid, const char *hints)
{
	if (!OidIsValid(get_extension_oid("pg_hint_plan", true)))
		return false;
	return row_as_written("SELECT 1 FROM hint_plan.hints", id, queryid, hints, true) > 0;
}
