/*
 * capture.c
 *		What pgperf keeps once per new plan shape: the plan's EXPLAIN text
 *		(without costs) and one sample, the statement text with its constants
 *		and, under the extended protocol, its parameter values.
 *
 * This runs in ExecutorStart, after the executor state is built and before
 * the plan runs, and only when the shape has no plan record yet (or, if the
 * record went meanwhile, in ExecutorEnd).  It must never make the user's
 * statement fail, so the work runs inside an internal subtransaction: an error
 * (from a type's output function, say) is logged, rolled back and forgotten,
 * and the plan record is kept without texts.  A query cancel is passed on: the
 * user asked for it.  In parallel mode no subtransaction can be started; then
 * only the EXPLAIN text and the sample text are built, which call nothing that
 * a user can define.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/explain.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "catalog/namespace.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "capture.h"
#include "compat.h"
#include "pin.h"

/* Returns 'len' cut to at most 'max' bytes on a character boundary. */
static int
clip(const char *s, int len, int max)
{
	if (len <= max)
		return len;
	return pg_mbcliplen(s, len, max);
}

/* Returns the statement's own text within its source string. */
const char *
PgperfStatementText(QueryDesc *qd, int *len)
{
	int			location = qd->plannedstmt->stmt_location;

	if (qd->sourceText == NULL)
	{
		*len = 0;
		return "";
	}
	*len = qd->plannedstmt->stmt_len;
	return CleanQuerytext(qd->sourceText, &location, len);
}

/*
 * Appends the parameter values of 'params' to 'buf', at most 'max' bytes in
 * all: per parameter its type OID, its length (-1 for NULL) and its text.
 * Values are written as pg_dump writes them (ISO dates, full float precision)
 * so that they read back the same whatever the settings of the session that
 * replays them.  Returns the number of parameters kept; sets *truncated if
 * any was dropped.
 */
static int
append_params(StringInfo buf, ParamListInfo params, int max, bool *truncated)
{
	int			kept = 0;
	int			start = buf->len;
	int			save_nestlevel = NewGUCNestLevel();

	(void) set_config_option("datestyle", "ISO", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "3", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	for (int i = 0; i < params->numParams && i < PG_INT16_MAX; i++)
	{
		ParamExternData *prm = &params->params[i];
		Oid			type = prm->ptype;
		int32		len = -1;
		char	   *str = NULL;

		if (OidIsValid(type) && !prm->isnull)
		{
			Oid			outfunc;
			bool		isvarlena;

			getTypeOutputInfo(type, &outfunc, &isvarlena);
			str = OidOutputFunctionCall(outfunc, prm->value);
			len = (int32) strlen(str);
		}
		if (buf->len - start + (int) (2 * sizeof(int32)) + Max(len, 0) > max)
		{
			*truncated = true;
			break;
		}
		appendBinaryStringInfo(buf, (char *) &type, sizeof(Oid));
		appendBinaryStringInfo(buf, (char *) &len, sizeof(int32));
		if (len > 0)
			appendBinaryStringInfo(buf, str, len);
		kept++;
	}
	AtEOXact_GUC(true, save_nestlevel);
	return kept;
}

/* Builds the texts into 't', allocating in the current memory context. */
static void
build_texts(QueryDesc *qd, PgperfPlanTexts *t, int max_plan_len,
			int max_sample_len, bool with_params)
{
	ExplainState *es = NewExplainState();
	StringInfoData blob;
	const char *sample;
	int			sample_len;
	int			plan_len;

	es->costs = false;
	es->format = EXPLAIN_FORMAT_TEXT;
	ExplainBeginOutput(es);
	ExplainPrintPlan(es, qd);
	ExplainEndOutput(es);
	plan_len = es->str->len;
	while (plan_len > 0 && es->str->data[plan_len - 1] == '\n')
		plan_len--;
	plan_len = clip(es->str->data, plan_len, max_plan_len);

	sample = PgperfStatementText(qd, &sample_len);
	if (sample_len > max_sample_len)
	{
		sample_len = clip(sample, sample_len, max_sample_len);
		t->sample_truncated = true;
	}

	initStringInfo(&blob);
	appendBinaryStringInfo(&blob, es->str->data, plan_len);
	appendBinaryStringInfo(&blob, sample, sample_len);
	t->plan_len = plan_len;
	t->sample_len = sample_len;

	/* values of a fetch hook (PL/pgSQL variables) are not a replayable sample */
	if (with_params && qd->params != NULL && qd->params->paramFetch == NULL &&
		qd->params->numParams > 0)
	{
		int			before = blob.len;

		t->nparams = append_params(&blob, qd->params, max_sample_len,
								   &t->sample_truncated);
		t->params_len = blob.len - before;
	}

	/* the search_path last: a sample cut short keeps none (see below) */
	if (!t->sample_truncated && namespace_search_path != NULL)
	{
		int			len = (int) strlen(namespace_search_path);

		if (len > 0 && len <= max_sample_len)
		{
			appendBinaryStringInfo(&blob, namespace_search_path, len);
			t->path_len = len;
		}
	}

	/* what pinning the plan needs (pin_capture.c); none if it is too long */
	{
		int			before = blob.len;

		PgperfPinCapture(qd->plannedstmt, &blob);
		if (blob.len - before > max_plan_len)
			blob.data[blob.len = before] = '\0';
		t->pin_len = blob.len - before;
	}
	t->blob = blob.data;
}

void
PgperfCapturePlan(QueryDesc *qd, int max_plan_len, int max_sample_len,
				  PgperfPlanTexts *t)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	uint32		saved_holdoff = InterruptHoldoffCount;
	uint32		saved_cancel_holdoff = QueryCancelHoldoffCount;

	memset(t, 0, sizeof(*t));
	t->cmdtype = (int16) qd->operation;
	t->est_cost = qd->plannedstmt->planTree ? qd->plannedstmt->planTree->total_cost : 0;
	t->origin = (char) PGPERF_PLAN_ORIGIN(qd->plannedstmt);

	if (IsInParallelMode())
	{
		build_texts(qd, t, max_plan_len, max_sample_len, false);
		return;
	}

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller);
	PG_TRY();
	{
		build_texts(qd, t, max_plan_len, max_sample_len, true);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
		InterruptHoldoffCount = saved_holdoff;
		QueryCancelHoldoffCount = saved_cancel_holdoff;

		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
		ereport(LOG,
				(errmsg("pgperf could not capture the plan of query %lld: %s",
						(long long) qd->plannedstmt->queryId, edata->message)));
		FreeErrorData(edata);
		t->blob = NULL;
		t->plan_len = t->sample_len = t->params_len = t->path_len = t->pin_len = 0;
		t->nparams = 0;
		t->sample_truncated = true;
	}
	PG_END_TRY();
}
