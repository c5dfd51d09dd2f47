/*
 * persist.c
 *		Statistics across a clean restart: the postmaster writes a dump when it
 *		shuts down cleanly and reads it back when it starts.
 *
 * The file is $PGDATA/pg_stat/pgperf.stat, written as pgperf.stat.tmp and
 * renamed durably.  Layout, in native byte order and struct layout (the file
 * is read back by the same build, and the header says so):
 *
 *	header		magic, format version, PostgreSQL major, the sizes of the
 *				structs below, the record counts, the global counters
 *	windows		the windows kept, oldest first
 *	changes		the plan changes kept, oldest first
 *	queries		per record: key, encoding, last plan, text length, text
 *	plans		per record: the fixed part of the record, then its texts
 *	entries		per entry: key, usage, counters
 *	trailer		CRC-32C of every byte before it
 *
 * Loading reads the whole file and checks the checksum, the header and every
 * length before anything goes into shared memory; a missing file means an
 * empty start, and a truncated, corrupt or foreign one is reported with a
 * WARNING and ignored: start-up never fails because of it.  The file is
 * removed once read, so that after a crash (when no dump is written) stale
 * statistics do not come back.
 *
 * "Clean" is what the control file says: a dump is written, and read, only
 * when the cluster was shut down cleanly.  The postmaster's exit status is
 * not enough: after an immediate shutdown it exits normally too, with
 * backends killed at any point, possibly inside an entry's update.
 *
 * When pgperf.max or the text area is now smaller than when the dump was
 * written, the most used entries are kept, and with them exactly the plan and
 * query records they refer to.
 *
 * Both run in the postmaster while no backend exists, so no lock is taken.
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "changes.h"
#include "store.h"
#include "windows.h"

#define DUMP_FILE		PGSTAT_STAT_PERMANENT_DIRECTORY "/pgperf.stat"
#define DUMP_TMP_FILE	DUMP_FILE ".tmp"
#define DUMP_MAGIC		0x50475046	/* "PGPF" */
#define DUMP_VERSION	6		/* 4: plan records keep the sample's search_path;
								 * 5: local block times, WAL buffers full,
								 * parallel workers; 6: and a pin section */

typedef struct DumpHeader
{
	uint32		magic;
	uint32		version;
	uint32		pg_major;
	uint32		stat_key_size;
	uint32		counters_size;
	uint32		plan_entry_size;
	uint32		query_key_size;
	uint32		hist_bins;
	uint32		window_size;
	int32		nwindows;
	uint32		next_window_id;
	int64		windows_dropped;
	uint32		change_size;
	int32		nchanges;
	int64		changes_dropped;
	TimestampTz written_at;
	int64		nqueries;
	int64		nplans;
	int64		nentries;
	int64		evictions;
	int64		texts_dropped;
	TimestampTz stats_since;
} DumpHeader;

/* The fixed part of a query record in the file. */
typedef struct DumpQuery
{
	PgperfQueryKey key;
	int32		encoding;
	uint32		len;
	uint64		last_planid;
} DumpQuery;

/* The fixed part of an entry in the file. */
typedef struct DumpEntry
{
	PgperfStatKey key;
	double		usage;
	PgperfCounters c;
} DumpEntry;

/* A file being written, with its running checksum. */
typedef struct DumpWriter
{
	FILE	   *file;
	pg_crc32c	crc;
	bool		failed;
} DumpWriter;

/* Appends bytes to the dump and to its checksum. */
static void
dump_put(DumpWriter *w, const void *data, size_t len)
{
	if (w->failed || len == 0)
		return;
	COMP_CRC32C(w->crc, data, len);
	if (fwrite(data, 1, len, w->file) != len)
		w->failed = true;
}

/* Fills the header for the current shared state. */
static void
fill_header(DumpHeader *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = DUMP_MAGIC;
	h->version = DUMP_VERSION;
	h->pg_major = PG_VERSION_NUM / 100;
	h->stat_key_size = sizeof(PgperfStatKey);
	h->counters_size = sizeof(PgperfCounters);
	h->plan_entry_size = sizeof(PgperfPlanEntry);
	h->query_key_size = sizeof(PgperfQueryKey);
	h->hist_bins = HIST_NBINS;
	h->window_size = sizeof(PgperfWindow);
	h->change_size = sizeof(PgperfPlanChange);
}

/* Reports whether the control file says the cluster was shut down cleanly. */
static bool
shut_down_cleanly(void)
{
	bool		crc_ok;
	ControlFileData *cf = get_controlfile(DataDir, &crc_ok);
	bool		clean;

	clean = crc_ok && (cf->state == DB_SHUTDOWNED ||
					   cf->state == DB_SHUTDOWNED_IN_RECOVERY);
	pfree(cf);
	return clean;
}

void
PgperfWriteDump(int code, Datum arg)
{
	DumpWriter	w;
	DumpHeader	h;
	HASH_SEQ_STATUS hs;
	PgperfQueryEntry *qr;
	PgperfPlanEntry *pr;
	PgperfStatEntry *e;

	/* no dump after a crash: shared memory may be inconsistent */
	if (code != 0 || pgperf_shared == NULL)
		return;
	if (!pgperf_save)
	{
		unlink(DUMP_FILE);
		return;
	}
	if (!shut_down_cleanly())
	{
		ereport(LOG,
				(errmsg("pgperf is not saving its statistics: the server did not shut down cleanly")));
		return;
	}

	w.file = AllocateFile(DUMP_TMP_FILE, PG_BINARY_W);
	if (w.file == NULL)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", DUMP_TMP_FILE)));
		return;
	}
	w.failed = false;
	INIT_CRC32C(w.crc);

	fill_header(&h);
	h.nqueries = hash_get_num_entries(pgperf_query_hash);
	h.nplans = hash_get_num_entries(pgperf_plan_hash);
	h.nentries = hash_get_num_entries(pgperf_stat_hash);
	h.evictions = pgperf_shared->evictions;
	h.texts_dropped = pgperf_shared->texts_dropped;
	h.stats_since = pgperf_shared->stats_since;
	h.nwindows = pgperf_windows->count;
	h.next_window_id = pgperf_windows->next_id;
	h.windows_dropped = pgperf_windows->dropped;
	h.nchanges = pgperf_changes->count;
	h.changes_dropped = pgperf_changes->dropped;
	h.written_at = GetCurrentTimestamp();
	dump_put(&w, &h, sizeof(h));

	for (int i = 0; i < pgperf_windows->count; i++)
		dump_put(&w, &pgperf_windows->ring[(pgperf_windows->head + i) % pgperf_windows->capacity],
				 sizeof(PgperfWindow));
	for (int i = 0; i < pgperf_changes->count; i++)
		dump_put(&w, PgperfChangeAt(i), sizeof(PgperfPlanChange));

	hash_seq_init(&hs, pgperf_query_hash);
	while ((qr = hash_seq_search(&hs)) != NULL)
	{
		DumpQuery	dq;

		memset(&dq, 0, sizeof(dq));
		dq.key = qr->key;
		dq.encoding = qr->encoding;
		dq.len = qr->text.len;
		dq.last_planid = qr->last_planid;
		dump_put(&w, &dq, sizeof(dq));
		dump_put(&w, pgperf_text_area + qr->text.off, qr->text.len);
	}

	hash_seq_init(&hs, pgperf_plan_hash);
	while ((pr = hash_seq_search(&hs)) != NULL)
	{
		dump_put(&w, pr, sizeof(*pr));
		dump_put(&w, pgperf_text_area + pr->blob.off, pr->blob.len);
	}

	hash_seq_init(&hs, pgperf_stat_hash);
	while ((e = hash_seq_search(&hs)) != NULL)
	{
		DumpEntry	de;

		memset(&de, 0, sizeof(de));
		de.key = e->key;
		de.usage = e->usage;
		de.c = e->c;
		dump_put(&w, &de, sizeof(de));
	}

	FIN_CRC32C(w.crc);
	if (!w.failed && fwrite(&w.crc, 1, sizeof(w.crc), w.file) != sizeof(w.crc))
		w.failed = true;
	if (FreeFile(w.file) != 0)
		w.failed = true;

	if (w.failed)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", DUMP_TMP_FILE)));
		unlink(DUMP_TMP_FILE);
		return;
	}
	(void) durable_rename(DUMP_TMP_FILE, DUMP_FILE, LOG);
}

/* A file being read: bounds-checked cursor over the whole file in memory. */
typedef struct DumpReader
{
	const char *p;
	const char *end;
} DumpReader;

/* Returns the next 'len' bytes of the dump, or NULL if the file ends first. */
static const char *
dump_get(DumpReader *r, size_t len)
{
	const char *p = r->p;

	if (len > (size_t) (r->end - r->p))
		return NULL;
	r->p += len;
	return p;
}

/* Returns a description of what is wrong with a header, or NULL. */
static const char *
check_header(const DumpHeader *h)
{
	DumpHeader	want;

	fill_header(&want);
	if (h->magic != want.magic)
		return "it is not a pgperf dump";
	if (h->version != want.version)
		return "it was written by another version of pgperf";
	if (h->pg_major != want.pg_major)
		return "it was written by another PostgreSQL major version";
	if (h->stat_key_size != want.stat_key_size ||
		h->counters_size != want.counters_size ||
		h->plan_entry_size != want.plan_entry_size ||
		h->query_key_size != want.query_key_size ||
		h->hist_bins != want.hist_bins ||
		h->window_size != want.window_size ||
		h->change_size != want.change_size)
		return "it was written by a build with another layout";
	if (h->nqueries < 0 || h->nplans < 0 || h->nentries < 0 || h->nwindows < 0 ||
		h->nchanges < 0)
		return "its record counts are invalid";
	return NULL;
}

/*
 * Checks every record's lengths without storing anything; returns a
 * description of the first problem, or NULL.
 */
static const char *
check_records(DumpReader r, const DumpHeader *h)
{
	if (dump_get(&r, (size_t) h->nwindows * sizeof(PgperfWindow)) == NULL)
		return "it ends inside the windows";
	if (dump_get(&r, (size_t) h->nchanges * sizeof(PgperfPlanChange)) == NULL)
		return "it ends inside the plan changes";
	for (int64 i = 0; i < h->nqueries; i++)
	{
		const DumpQuery *dq = (const DumpQuery *) dump_get(&r, sizeof(DumpQuery));

		if (dq == NULL || dump_get(&r, dq->len) == NULL)
			return "it ends inside a query record";
	}
	for (int64 i = 0; i < h->nplans; i++)
	{
		PgperfPlanEntry pr;
		const char *p = dump_get(&r, sizeof(PgperfPlanEntry));

		if (p == NULL)
			return "it ends inside a plan record";
		memcpy(&pr, p, sizeof(pr));
		if ((uint64) pr.plan_len + pr.sample_len + pr.params_len + pr.path_len +
			pr.pin_len != pr.blob.len ||
			pr.nparams < 0)
			return "a plan record is inconsistent";
		if (dump_get(&r, pr.blob.len) == NULL)
			return "it ends inside a plan record";
	}
	for (int64 i = 0; i < h->nentries; i++)
		if (dump_get(&r, sizeof(DumpEntry)) == NULL)
			return "it ends inside a statistics entry";
	if (r.p != r.end)
		return "it has trailing bytes";
	return NULL;
}

/* Orders entries by decreasing usage. */
static int
usage_desc_cmp(const void *a, const void *b)
{
	double		ua = (*(const DumpEntry *const *) a)->usage;
	double		ub = (*(const DumpEntry *const *) b)->usage;

	return (ua < ub) - (ua > ub);
}

/*
 * Restores the windows: the newest that fit pgperf.max_windows.  The last one
 * ends when the dump was written; the start-up window opens after it.
 */
static void
load_windows(DumpReader *r, const DumpHeader *h)
{
	PgperfWindows *w = pgperf_windows;
	int			skip = Max(h->nwindows - w->capacity, 0);
	const char *p = dump_get(r, (size_t) h->nwindows * sizeof(PgperfWindow));

	PgperfClearWindowsLocked();
	for (int i = skip; i < h->nwindows; i++)
		memcpy(&w->ring[i - skip], p + i * sizeof(PgperfWindow), sizeof(PgperfWindow));
	w->count = h->nwindows - skip;
	w->next_id = Max(h->next_window_id, 1);
	w->dropped = h->windows_dropped + skip;
	if (w->count > 0)
	{
		if (w->ring[w->count - 1].ended_at == 0)
			w->ring[w->count - 1].ended_at = h->written_at;
		pg_atomic_write_u32(&pgperf_shared->oldest_window, w->ring[0].id);
		pg_atomic_write_u32(&pgperf_shared->current_window, w->ring[w->count - 1].id);
	}
}

/* Restores the plan changes: the newest that fit pgperf.max_plan_changes. */
static void
load_changes(DumpReader *r, const DumpHeader *h)
{
	int			skip = Max(h->nchanges - pgperf_changes->capacity, 0);
	const char *p = dump_get(r, (size_t) h->nchanges * sizeof(PgperfPlanChange));

	PgperfClearChangesLocked();
	for (int i = skip; i < h->nchanges; i++)
	{
		PgperfPlanChange ch;

		memcpy(&ch, p + i * sizeof(PgperfPlanChange), sizeof(ch));
		PgperfNoteChangeLocked(ch.queryid, ch.userid, ch.dbid, ch.old_planid,
							   ch.new_planid, ch.window_id, ch.detected_at);
		if (!ch.open)
		{
			PgperfPlanChange *copy = PgperfChangeAt(pgperf_changes->count - 1);

			copy->open = false;
			pg_atomic_fetch_sub_u32(&pgperf_changes->open, 1);
		}
	}
	pgperf_changes->dropped = h->changes_dropped + skip;
}

/* Reports whether the (loaded) windows include 'id'. */
static bool
window_kept(uint32 id)
{
	for (int i = 0; i < pgperf_windows->count; i++)
		if (pgperf_windows->ring[(pgperf_windows->head + i) % pgperf_windows->capacity].id == id)
			return true;
	return false;
}

/* Returns a local set of keys of 'keysize' bytes. */
static HTAB *
key_set(const char *name, Size keysize)
{
	HASHCTL		info;

	memset(&info, 0, sizeof(info));
	info.keysize = keysize;
	info.entrysize = keysize;
	info.hcxt = CurrentMemoryContext;
	return hash_create(name, 256, &info, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Stores the (checked) records into shared memory: the most used entries that
 * fit, then the plan and query records they refer to, then links them.
 */
static void
load_records(DumpReader r, const DumpHeader *h)
{
	const DumpEntry **entries = palloc(sizeof(DumpEntry *) * Max(h->nentries, 1));
	const char *queries;
	const char *plans;
	HTAB	   *want_plans = key_set("pgperf load plans", sizeof(PgperfPlanKey));
	HTAB	   *want_queries = key_set("pgperf load queries", sizeof(PgperfQueryKey));
	int64		kept = 0;
	HASH_SEQ_STATUS hs;
	PgperfStatEntry *e;

	load_windows(&r, h);
	load_changes(&r, h);

	/* find the three sections (lengths were checked) */
	queries = r.p;
	for (int64 i = 0; i < h->nqueries; i++)
	{
		DumpQuery	dq;

		memcpy(&dq, dump_get(&r, sizeof(DumpQuery)), sizeof(dq));
		dump_get(&r, dq.len);
	}
	plans = r.p;
	for (int64 i = 0; i < h->nplans; i++)
	{
		PgperfPlanEntry pr;

		memcpy(&pr, dump_get(&r, sizeof(PgperfPlanEntry)), sizeof(pr));
		dump_get(&r, pr.blob.len);
	}
	for (int64 i = 0; i < h->nentries; i++)
		entries[i] = (const DumpEntry *) dump_get(&r, sizeof(DumpEntry));

	/* the entries: the most used first, as many as pgperf.max allows */
	if (h->nentries > pgperf_max)
		qsort(entries, h->nentries, sizeof(DumpEntry *), usage_desc_cmp);
	for (int64 i = 0; i < h->nentries && kept < pgperf_max; i++)
	{
		DumpEntry	de;
		PgperfPlanKey pk;
		PgperfQueryKey qk;

		memcpy(&de, entries[i], sizeof(de));
		if (!window_kept(de.key.window_id))
			continue;
		e = hash_search(pgperf_stat_hash, &de.key, HASH_ENTER_NULL, NULL);
		if (e == NULL)
			break;
		SpinLockInit(&e->mutex);
		e->linked = false;
		e->usage = de.usage;
		e->c = de.c;
		kept++;

		memset(&pk, 0, sizeof(pk));
		pk.queryid = de.key.queryid;
		pk.planid = de.key.planid;
		pk.userid = de.key.userid;
		pk.dbid = de.key.dbid;
		hash_search(want_plans, &pk, HASH_ENTER, NULL);
		memset(&qk, 0, sizeof(qk));
		qk.queryid = de.key.queryid;
		qk.userid = de.key.userid;
		qk.dbid = de.key.dbid;
		hash_search(want_queries, &qk, HASH_ENTER, NULL);
	}

	/* the records those entries refer to */
	r.p = queries;
	for (int64 i = 0; i < h->nqueries; i++)
	{
		DumpQuery	dq;
		const char *text;
		PgperfQueryEntry *qr;
		PgperfTextRef ref;

		memcpy(&dq, dump_get(&r, sizeof(DumpQuery)), sizeof(dq));
		text = dump_get(&r, dq.len);
		if (hash_search(want_queries, &dq.key, HASH_FIND, NULL) == NULL)
			continue;
		PgperfTextStore(text, dq.len, &ref);
		qr = hash_search(pgperf_query_hash, &dq.key, HASH_ENTER_NULL, NULL);
		if (qr == NULL)
			continue;
		qr->refcount = 0;
		qr->encoding = dq.encoding;
		qr->text = ref;
		qr->last_planid = dq.last_planid;
	}
	r.p = plans;
	for (int64 i = 0; i < h->nplans; i++)
	{
		PgperfPlanEntry src;
		PgperfPlanEntry *pr;
		const char *blob;
		PgperfTextRef ref;

		memcpy(&src, dump_get(&r, sizeof(PgperfPlanEntry)), sizeof(src));
		blob = dump_get(&r, src.blob.len);
		if (hash_search(want_plans, &src.key, HASH_FIND, NULL) == NULL)
			continue;
		PgperfTextStore(blob, src.blob.len, &ref);
		pr = hash_search(pgperf_plan_hash, &src.key, HASH_ENTER_NULL, NULL);
		if (pr == NULL)
			continue;
		*pr = src;
		pr->refcount = 0;
		pr->blob = ref;
		if (ref.len != src.blob.len)
		{
			/* the text area is now smaller: keep the record, without texts */
			pr->plan_len = pr->sample_len = pr->params_len = pr->path_len = 0;
			pr->pin_len = 0;
			pr->nparams = 0;
		}
	}

	hash_seq_init(&hs, pgperf_stat_hash);
	while ((e = hash_seq_search(&hs)) != NULL)
		PgperfLinkEntry(e);
	PgperfDropUnreferencedPlans();

	pgperf_shared->evictions = h->evictions + (h->nentries - kept);
	pgperf_shared->texts_dropped = h->texts_dropped;
	pgperf_shared->stats_since = h->stats_since;

	hash_destroy(want_plans);
	hash_destroy(want_queries);
	pfree(entries);
}

/* Removes every record and entry (after a failed load). */
static void
clear_all(void)
{
	HASH_SEQ_STATUS hs;
	void	   *rec;
	HTAB	   *tables[3] = {pgperf_stat_hash, pgperf_plan_hash, pgperf_query_hash};

	for (int t = 0; t < 3; t++)
	{
		hash_seq_init(&hs, tables[t]);
		while ((rec = hash_seq_search(&hs)) != NULL)
			hash_search(tables[t], rec, HASH_REMOVE, NULL);
	}
	pgperf_shared->text_used = 0;
	pgperf_shared->text_live = 0;
	PgperfClearWindowsLocked();
	PgperfClearChangesLocked();
}

void
PgperfLoadDump(void)
{
	FILE	   *file;
	struct stat st;
	char	   *buf = NULL;
	const char *problem = NULL;
	DumpHeader	h;
	DumpReader	r = {NULL, NULL};
	pg_crc32c	crc;
	pg_crc32c	stored;

	if (!pgperf_save)
	{
		unlink(DUMP_FILE);
		return;
	}

	file = AllocateFile(DUMP_FILE, PG_BINARY_R);
	if (file != NULL && !shut_down_cleanly())
	{
		/* written before a crash we did not see: older than what happened since */
		FreeFile(file);
		ereport(LOG,
				(errmsg("pgperf is ignoring its dump file \"%s\": the server was not shut down cleanly",
						DUMP_FILE)));
		unlink(DUMP_FILE);
		return;
	}
	if (file == NULL)
	{
		if (errno != ENOENT)
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", DUMP_FILE),
					 errdetail("pgperf starts with empty statistics.")));
		return;
	}

	if (fstat(fileno(file), &st) != 0)
		problem = "it cannot be examined";
	else if (st.st_size < (off_t) (sizeof(DumpHeader) + sizeof(pg_crc32c)))
		problem = "it is too short";
	else if ((Size) st.st_size > MaxAllocHugeSize)
		problem = "it is too large";
	else
	{
		buf = MemoryContextAllocHuge(CurrentMemoryContext, st.st_size);
		if (fread(buf, 1, st.st_size, file) != (size_t) st.st_size)
			problem = "it could not be read in full";
	}
	FreeFile(file);

	if (problem == NULL)
	{
		Size		body = st.st_size - sizeof(pg_crc32c);

		INIT_CRC32C(crc);
		COMP_CRC32C(crc, buf, body);
		FIN_CRC32C(crc);
		memcpy(&stored, buf + body, sizeof(stored));
		memcpy(&h, buf, sizeof(h));
		if (!EQ_CRC32C(crc, stored))
			problem = "its checksum does not match";
		else if ((problem = check_header(&h)) == NULL)
		{
			r.p = buf + sizeof(h);
			r.end = buf + body;
			problem = check_records(r, &h);
		}
	}

	if (problem == NULL)
	{
		clear_all();
		load_records(r, &h);
		ereport(LOG,
				(errmsg("pgperf loaded %lld statistics entries from \"%s\"",
						(long long) hash_get_num_entries(pgperf_stat_hash),
						DUMP_FILE)));
	}
	else
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ignoring pgperf dump file \"%s\": %s", DUMP_FILE, problem),
				 errdetail("pgperf starts with empty statistics.")));

	if (buf != NULL)
		pfree(buf);
	unlink(DUMP_FILE);
}
