/*
 * normalize.c
 *		Normalized statement text: every constant replaced by $n.
 *
 * Parse analysis (query jumbling) records where each constant starts, but not
 * how long it is.  The lengths come from running the core lexer over the
 * statement: when flex returns a token it has written a NUL right after the
 * token's text in its scan buffer, so the token's length is the length of the
 * string starting at its position there.  A negative number is lexed as '-'
 * followed by the number, and the constant then covers both.  Placeholders
 * are numbered after the statement's own highest $n, so a normalized text
 * never reuses a parameter number the statement already has.
 *
 * From PostgreSQL 18 on, the text is the one pg_stat_statements shows: a list
 * of constants the jumbler squashed (IN (1, 2, 3)) becomes one $n followed by
 * the comment pg_stat_statements puts there (", ..."), and extended-protocol
 * parameters keep their own $n unless some list was squashed (compat.h says
 * which constants are which).
 *
 * The lexer runs with the settings of now, and they may not be those the
 * statement was parsed with: in "SET standard_conforming_strings = off;
 * SELECT 'C:\'" both statements were parsed before the SET ran, and the
 * string no longer lexes.  A user's statement must not fail because of
 * pgperf, so a lexer error is caught and the text kept as it is.  Catching
 * it without a subtransaction is sound because the lexer holds nothing but
 * memory, which lives in a context of its own; a subtransaction would have
 * advanced the command counter in the middle of the user's command (and
 * could not run in a parallel worker).
 *
 * This runs once per new statement per backend, never per execution.
 */
#include "postgres.h"

#include "common/keywords.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"
#include "parser/scanner.h"

#include "compat.h"
#include "normalize.h"

/* A constant of the statement: where it is, how long, what it is. */
typedef struct Constant
{
	int			location;		/* relative to the statement's text */
	int			length;			/* -1: not found, left as it is */
	bool		squashed;		/* a squashed list: its length is known */
} Constant;

/* Orders constants by position. */
static int
loc_cmp(const void *a, const void *b)
{
	int			la = ((const Constant *) a)->location;
	int			lb = ((const Constant *) b)->location;

	return (la > lb) - (la < lb);
}

/*
 * Fills in the length of each constant in 'locs' (sorted, relative to
 * 'text'); a constant the lexer does not find keeps length -1.
 */
static void
lex_constants(const char *text, Constant *locs, int nlocs)
{
	core_yyscan_t scanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	int			i = 0;

	scanner = scanner_init(text, &yyextra, &ScanKeywords, ScanKeywordTokens);
	/* the parser already warned about these; do not warn twice */
	PGPERF_SCANNER_QUIET(yyextra);

	while (i < nlocs)
	{
		int			tok = core_yylex(&yylval, &yylloc, scanner);
		int			start;

		if (tok == 0)
			break;				/* end of text */
		/* constants no token starts at are left alone (length -1) */
		while (i < nlocs && locs[i].location < yylloc)
			i++;
		if (i >= nlocs || locs[i].location != yylloc)
			continue;
		if (locs[i].squashed)
		{
			i++;				/* the jumbler measured the list */
			continue;
		}
		start = yylloc;
		if (tok == '-')
		{
			/* negative constant: '-' then the number */
			if (core_yylex(&yylval, &yylloc, scanner) == 0)
				break;
		}
		locs[i].length = yylloc + (int) strlen(yyextra.scanbuf + yylloc) - start;
		i++;
	}
	scanner_finish(scanner);
}

/*
 * lex_constants(), in a memory context of its own.  Returns false if the
 * lexer failed (a syntax error, an escape it refuses: classes 42 and 22);
 * any other error (out of memory, ...) is raised again.
 */
static bool
measure_constants(const char *text, Constant *locs, int nlocs)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext lexcxt = AllocSetContextCreate(caller, "pgperf lexer",
												 ALLOCSET_DEFAULT_SIZES);
	volatile bool lexed = true;

	MemoryContextSwitchTo(lexcxt);
	PG_TRY();
	{
		lex_constants(text, locs, nlocs);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		int			category;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		category = ERRCODE_TO_CATEGORY(edata->sqlerrcode);
		if (edata->elevel != ERROR ||
			(category != ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION &&
			 category != ERRCODE_DATA_EXCEPTION))
			PG_RE_THROW();
		FreeErrorData(edata);
		FlushErrorState();
		lexed = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(lexcxt);
	return lexed;
}

char *
PgperfNormalizeQuery(const char *text, int text_len, int text_location,
					 const JumbleState *jstate, int max_len, int *out_len)
{
	Constant   *locs;
	int			nlocs = 0;
	bool		squashing = PGPERF_JSTATE_HAS_SQUASHED(jstate);
	char	   *copy;
	char	   *out;
	int			pos = 0;
	int			o = 0;
	int			param = jstate->highest_extern_param_id;

	/* constants relative to the statement text, sorted, without duplicates */
	locs = palloc(sizeof(Constant) * Max(jstate->clocations_count, 1));
	for (int i = 0; i < jstate->clocations_count; i++)
	{
		int			loc = jstate->clocations[i].location - text_location;

		if (loc < 0 || loc >= text_len)
			continue;
		/* a parameter stays as written, unless lists are squashed */
		if (PGPERF_LOC_EXTERN_PARAM(jstate->clocations[i]) && !squashing)
			continue;
		locs[nlocs].location = loc;
		locs[nlocs].squashed = PGPERF_LOC_SQUASHED(jstate->clocations[i]);
		locs[nlocs].length = locs[nlocs].squashed ?
			jstate->clocations[i].length : -1;
		nlocs++;
	}
	qsort(locs, nlocs, sizeof(Constant), loc_cmp);
	if (nlocs > 1)
	{
		int			k = 1;

		for (int i = 1; i < nlocs; i++)
			if (locs[i].location != locs[k - 1].location)
				locs[k++] = locs[i];
		nlocs = k;
	}

	copy = pnstrdup(text, text_len);
	if (!measure_constants(copy, locs, nlocs))
		nlocs = 0;				/* the lexer failed: the text as it is */

	/* each constant becomes at most "$", 10 digits and the list's comment */
	out = palloc(text_len + nlocs * 24 + 1);
	for (int i = 0; i < nlocs; i++)
	{
		int			loc = locs[i].location;
		int			len = locs[i].length;

		if (len < 0 || loc < pos)
			continue;
		memcpy(out + o, copy + pos, loc - pos);
		o += loc - pos;
		o += sprintf(out + o, "$%d%s", ++param, locs[i].squashed ? " /*, ... */" : "");
		pos = loc + len;
	}
	memcpy(out + o, copy + pos, text_len - pos);
	o += text_len - pos;
	out[o] = '\0';

	if (o > max_len)
	{
		o = pg_mbcliplen(out, o, max_len);
		out[o] = '\0';
	}
	pfree(copy);
	pfree(locs);
	*out_len = o;
	return out;
}
