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
 * This runs once per new statement per backend, never per execution.
 */
#include "postgres.h"

#include "common/keywords.h"
#include "mb/pg_wchar.h"
#include "parser/scanner.h"

#include "compat.h"
#include "normalize.h"

/* Orders constant locations by position. */
static int
loc_cmp(const void *a, const void *b)
{
	int			la = ((const LocationLen *) a)->location;
	int			lb = ((const LocationLen *) b)->location;

	return (la > lb) - (la < lb);
}

/*
 * Fills in the length of each constant in 'locs' (sorted, relative to
 * 'text'); a constant the lexer does not find keeps length -1.
 */
static void
measure_constants(const char *text, LocationLen *locs, int nlocs)
{
	core_yyscan_t scanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	int			i = 0;

	scanner = scanner_init(text, &yyextra, &ScanKeywords, ScanKeywordTokens);
	/* the parser already warned about these; do not warn twice */
	yyextra.escape_string_warning = false;

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

char *
PgperfNormalizeQuery(const char *text, int text_len, int text_location,
					 const JumbleState *jstate, int max_len, int *out_len)
{
	LocationLen *locs;
	int			nlocs = 0;
	char	   *copy;
	char	   *out;
	int			pos = 0;
	int			o = 0;
	int			param = jstate->highest_extern_param_id;

	/* constants relative to the statement text, sorted, without duplicates */
	locs = palloc(sizeof(LocationLen) * Max(jstate->clocations_count, 1));
	for (int i = 0; i < jstate->clocations_count; i++)
	{
		int			loc = jstate->clocations[i].location - text_location;

		if (loc < 0 || loc >= text_len)
			continue;
		locs[nlocs].location = loc;
		locs[nlocs].length = -1;
		nlocs++;
	}
	qsort(locs, nlocs, sizeof(LocationLen), loc_cmp);
	if (nlocs > 1)
	{
		int			k = 1;

		for (int i = 1; i < nlocs; i++)
			if (locs[i].location != locs[k - 1].location)
				locs[k++] = locs[i];
		nlocs = k;
	}

	copy = pnstrdup(text, text_len);
	measure_constants(copy, locs, nlocs);

	/* each constant becomes at most "$" and 10 digits */
	out = palloc(text_len + nlocs * 11 + 1);
	for (int i = 0; i < nlocs; i++)
	{
		int			loc = locs[i].location;
		int			len = locs[i].length;

		if (len < 0 || loc < pos)
			continue;
		memcpy(out + o, copy + pos, loc - pos);
		o += loc - pos;
		o += sprintf(out + o, "$%d", ++param);
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
