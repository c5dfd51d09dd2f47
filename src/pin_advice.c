/*
 * pin_advice.c
 *		Pinning with pg_plan_advice and pg_stash_advice (PostgreSQL 19).
 *
 * pg_plan_advice generates, for a plan, an advice string that reproduces
 * its join order, join methods, scans with their indexes and parallelism
 * (pin_capture.c keeps it with the plan), and applies advice while planning.
 * pg_stash_advice supplies advice by query id from a named stash; a session
 * uses the stash its pg_stash_advice.stash_name names.  pgperf writes a pin
 * into the stash the calling session names (usually the server's or the
 * database's setting), creating the stash if it does not exist; it refuses
 * to overwrite advice it did not write, and removes an entry only while it
 * still holds the advice pgperf wrote.  Stashes are not transactional: an
 * entry written by a pin whose transaction then aborts stays, and shows in
 * pgperf.pins nowhere; pin.c writes the stash last for that reason.
 *
 * The functions are pg_stash_advice's SQL functions, called through SPI as
 * the caller (they are not granted to PUBLIC: their grants decide).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "compat.h"
#include "pin.h"

/* Reports whether pg_plan_advice and pg_stash_advice are both loaded here. */
bool
PgperfAdviceLoaded(void)
{
	return PGPERF_CAN_PIN_ADVICE && PgperfModuleLoaded("pg_plan_advice.advice") &&
		PgperfModuleLoaded("pg_stash_advice.stash_name");
}

/* Returns the stash this session's pg_stash_advice.stash_name names, or NULL. */
char *
PgperfAdviceStash(void)
{
	const char *name = GetConfigOption("pg_stash_advice.stash_name", true, false);

	return (name && name[0]) ? pstrdup(name) : NULL;
}

/* Returns why advice cannot pin here (and a hint), or NULL if it can. */
const char *
PgperfAdviceUnavailable(const char **hint)
{
	*hint = NULL;
	if (!PGPERF_CAN_PIN_ADVICE)
		return "pg_plan_advice exists from PostgreSQL 19 on";
	if (!PgperfAdviceLoaded())
	{
		*hint = "Add pg_plan_advice and pg_stash_advice to shared_preload_libraries and restart.";
		return "pg_plan_advice and pg_stash_advice are not both loaded in this session";
	}
	if (!OidIsValid(get_extension_oid("pg_stash_advice", true)))
	{
		*hint = "Run CREATE EXTENSION pg_stash_advice in this database.";
		return "extension \"pg_stash_advice\" is not installed in this database";
	}
	if (PgperfAdviceStash() == NULL)
	{
		*hint = "Name the stash every session uses: ALTER SYSTEM SET pg_stash_advice.stash_name = 'pgperf'; "
			"SELECT pg_reload_conf();";
		return "pg_stash_advice.stash_name is empty: no session would read the advice pgperf stashes";
	}
	return NULL;
}

/* Returns the quoted schema of pg_stash_advice's functions. */
static char *
stash_schema(void)
{
	char	   *nsp = NULL;

	SPI_connect();
	if (SPI_execute("SELECT n.nspname FROM pg_catalog.pg_extension e "
					"JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
					"WHERE e.extname = 'pg_stash_advice'", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		nsp = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (nsp)
		nsp = MemoryContextStrdup(CurTransactionContext, quote_identifier(nsp));
	SPI_finish();
	if (nsp == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"pg_stash_advice\" is not installed in this database")));
	return nsp;
}

/* Reports whether stash 'stash' exists; SPI connected. */
static bool
stash_exists(const char *nsp, const char *stash)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(stash)};

	if (SPI_execute_with_args(psprintf("SELECT 1 FROM %s.pg_get_advice_stashes() WHERE stash_name = $1",
									   nsp), 1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the advice stashes");
	return SPI_processed > 0;
}

/* Reports whether the stash has advice for queryid; sets *advice to it. */
bool
PgperfAdviceExisting(const char *stash, uint64 queryid, char **advice)
{
	char	   *nsp = stash_schema();
	Oid			types[2] = {TEXTOID, INT8OID};
	Datum		values[2] = {CStringGetTextDatum(stash), Int64GetDatum((int64) queryid)};
	bool		found = false;

	*advice = NULL;
	SPI_connect();
	if (stash_exists(nsp, stash))
	{
		if (SPI_execute_with_args(psprintf("SELECT advice_string FROM %s.pg_get_advice_stash_contents($1) "
										   "WHERE query_id = $2", nsp),
								  2, types, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read advice stash \"%s\"", stash);
		if (SPI_processed > 0)
		{
			char	   *s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			found = true;
			*advice = s ? MemoryContextStrdup(CurTransactionContext, s) : NULL;
		}
	}
	SPI_finish();
	return found;
}

/* Stashes advice for queryid, creating the stash if needed. */
void
PgperfAdviceInstall(const char *stash, uint64 queryid, const char *advice)
{
	char	   *nsp = stash_schema();
	Oid			types[3] = {TEXTOID, INT8OID, TEXTOID};
	Datum		values[3] = {CStringGetTextDatum(stash), Int64GetDatum((int64) queryid),
	CStringGetTextDatum(advice)};

	SPI_connect();
	if (!stash_exists(nsp, stash) &&
		SPI_execute_with_args(psprintf("SELECT %s.pg_create_advice_stash($1)", nsp),
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not create advice stash \"%s\"", stash);
	if (SPI_execute_with_args(psprintf("SELECT %s.pg_set_stashed_advice($1, $2, $3)", nsp),
							  3, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not stash advice in \"%s\"", stash);
	SPI_finish();
}

/* Removes the stash's advice for queryid if it is still 'advice'; reports whether it did. */
bool
PgperfAdviceRemove(const char *stash, uint64 queryid, const char *advice)
{
	char	   *current = NULL;
	char	   *nsp;
	Oid			types[2] = {TEXTOID, INT8OID};
	Datum		values[2] = {CStringGetTextDatum(stash), Int64GetDatum((int64) queryid)};

	if (!PgperfAdviceExisting(stash, queryid, &current) || current == NULL ||
		strcmp(current, advice) != 0)
		return false;
	nsp = stash_schema();
	SPI_connect();
	if (SPI_execute_with_args(psprintf("SELECT %s.pg_set_stashed_advice($1, $2, NULL)", nsp),
							  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not remove advice from stash \"%s\"", stash);
	SPI_finish();
	return true;
}

/*
 * Reports whether the stash holds 'advice' for 'queryid': 1 yes, 0 no, -1
 * cannot tell (the caller may not read stashes, or the module is gone).
 */
int
PgperfAdvicePresent(const char *stash, uint64 queryid, const char *advice)
{
	char	   *current = NULL;
	char	   *nsp;
	bool		may_read;

	if (!OidIsValid(get_extension_oid("pg_stash_advice", true)) || !PgperfAdviceLoaded())
		return -1;
	nsp = stash_schema();
	SPI_connect();
	if (SPI_execute(psprintf("SELECT pg_catalog.has_function_privilege('%s.pg_get_advice_stash_contents(text)', 'EXECUTE') "
							 "AND pg_catalog.has_function_privilege('%s.pg_get_advice_stashes()', 'EXECUTE')",
							 nsp, nsp), true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not check the privileges on pg_stash_advice's functions");
	may_read = strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "t") == 0;
	SPI_finish();
	if (!may_read)
		return -1;
	if (!PgperfAdviceExisting(stash, queryid, &current))
		return 0;
	return current != NULL && strcmp(current, advice) == 0;
}
