/*
 * planid.c
 *		The plan-shape fingerprint: a 64-bit planid from a walk of the
 *		PlannedStmt, never from EXPLAIN text.
 *
 * What goes in: for every plan node, its type and parallel-awareness; the
 * schema-qualified names of the relations and indexes it scans or modifies;
 * join types, scan direction, aggregate and set-operation strategies, sort
 * and grouping widths, the number of index conditions; the children, the
 * init-plans and the sub-plans, in order.  What stays out: costs, row and
 * width estimates, constants and parameter values, OIDs, worker counts.  So
 * the same shape has the same planid in every backend, after a restart,
 * after REINDEX CONCURRENTLY (a new OID, the same name), and on another
 * server with the same schema; an index the planner starts using changes it.
 *
 * Node types are fed as pgperf's own codes, not NodeTag values, which are
 * renumbered between PostgreSQL majors.  Temporary schemas are all named
 * "pg_temp", so temp tables do not make planids differ between backends.
 *
 * A partition is named by its partitioned root, and an index of a partition
 * by the partitioned index it is attached to: plan-time pruning makes the
 * same statement scan pt1 for one value and pt2 for another, and that is one
 * shape, not two (constants must not leak into the planid).  A plan that
 * scans every partition under an Append is another shape, as it should be.
 *
 * Names are looked up once per backend and cached by OID; relcache and
 * syscache invalidations drop cached names, so a rename is seen at once.
 * The walk feeds one word per node (its type, flags and small fields packed
 * together) and one per relation or index name (a probe of the name cache).
 *
 * A cached plan (prepared statement, PL/pgSQL, SPI) is executed many times
 * and walked once: its planid is kept by PlannedStmt address, but only while
 * the memory it lives in does.  Only plans in a plan cache entry's memory
 * ("CachedPlan" contexts) are kept, and a reset callback on that memory
 * clears the slot when the plan is released, so a new plan copied to a
 * recycled address is never taken for the old one.  Plans in other memory
 * (the simple protocol's, one-shot plans) are new each time and walked each
 * time.
 *
 * From PostgreSQL 18 on, a PlannedStmt has a planId that modules may set:
 * pgperf's planner hook sets its planid there (pgperf.plan_id), where other
 * modules and the backend's status can see it, and the plan cache copies it
 * with the plan, so a cached plan is never walked again at all.  A planId
 * that another module set is left alone, and once one is seen (set before
 * pgperf's hook returns, or differing from pgperf's own walk the first time
 * a backend meets one) no planId is trusted in that backend any more.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "nodes/extensible.h"
#include "nodes/plannodes.h"
#include "nodes/primnodes.h"
#include "parser/parsetree.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "compat.h"
#include "core/fp.h"
#include "planid.h"

/*
 * Name fingerprints, cached per backend: an open-addressing table keyed by
 * (kind, OID), kind 'r' (relation or index) or 'f' (function).  Any relcache
 * or relevant syscache invalidation empties it (they are rare next to
 * executions, and a refill costs two syscache lookups per name).
 */
#define NAME_SLOTS		1024	/* a power of two */
#define NAME_MAX_USED	(NAME_SLOTS * 3 / 4)

typedef struct NameSlot
{
	Oid			oid;			/* InvalidOid: empty */
	char		kind;
	uint64		hash;
} NameSlot;

static NameSlot name_slots[NAME_SLOTS];
static int	name_used = 0;
static uint64 name_generation = 0;
static bool callbacks_registered = false;

/* The planid of cached plans, by PlannedStmt address (see the header). */
#define PLAN_SLOTS		256		/* a power of two */

typedef struct PlanSlot
{
	const PlannedStmt *stmt;	/* NULL: empty */
	MemoryContext cxt;			/* the plan's memory */
	uint64		generation;		/* name_generation when computed */
	uint64		planid;
} PlanSlot;

static PlanSlot plan_slots[PLAN_SLOTS];

/* GUC (pgperf.c): whether the planner hook sets PlannedStmt.planId */
bool		pgperf_plan_id = true;

/*
 * Whether another module sets planIds too (then pgperf's own cannot be told
 * from theirs, and none is trusted), and whether that was checked.
 */
static bool foreign_plan_ids = false;
static bool plan_ids_checked = false;

/* Clears a slot when the memory of the plan it holds goes. */
typedef struct PlanSlotRelease
{
	MemoryContextCallback cb;
	MemoryContext cxt;
	int			slot;
} PlanSlotRelease;

typedef struct PlanWalk
{
	fp_t		fp;
	List	   *rtable;
} PlanWalk;

static void walk_plan(PlanWalk *w, Plan *plan);

/* Empties the name cache, and with it every cached planid. */
static void
name_cache_flush(Datum arg, int cacheid, uint32 hashvalue)
{
	memset(name_slots, 0, sizeof(name_slots));
	name_used = 0;
	name_generation++;
}

/* Empties the name cache on any relcache invalidation. */
static void
name_cache_rel_inval(Datum arg, Oid relid)
{
	name_cache_flush(arg, 0, 0);
}

/* Returns the name slot of (oid, kind): its entry, or the empty slot for it. */
static inline NameSlot *
name_slot(Oid oid, char kind)
{
	uint32		i = (uint32) ((oid * UINT64CONST(0x9e3779b97f4a7c15)) >> 54) & (NAME_SLOTS - 1);

	while (name_slots[i].oid != InvalidOid &&
		   (name_slots[i].oid != oid || name_slots[i].kind != kind))
		i = (i + 1) & (NAME_SLOTS - 1);
	return &name_slots[i];
}

/* Returns the fingerprint of a schema name, "pg_temp" for any temp schema. */
static void
add_namespace(fp_t *fp, Oid nspid)
{
	char	   *nspname;

	if (isAnyTempNamespace(nspid))
	{
		fp_add_bytes(fp, "pg_temp", 7);
		return;
	}
	nspname = get_namespace_name(nspid);
	if (nspname != NULL)
	{
		fp_add_bytes(fp, nspname, strlen(nspname));
		pfree(nspname);
	}
	else
		fp_add_u64(fp, nspid);
}

/* Computes the fingerprint of a relation's or function's qualified name. */
static uint64
compute_name_hash(Oid oid, char kind)
{
	fp_t		fp;
	HeapTuple	tp;

	fp_init(&fp);
	fp_add_u64(&fp, (uint64) kind);
	tp = SearchSysCache1(kind == 'r' ? RELOID : PROCOID, ObjectIdGetDatum(oid));
	if (!HeapTupleIsValid(tp))
	{
		/* vanished under us: fall back to the OID rather than fail */
		fp_add_u64(&fp, oid);
		return fp_finish(&fp);
	}
	if (kind == 'r' && ((Form_pg_class) GETSTRUCT(tp))->relispartition)
	{
		/* a partition (or a partition's index): the name of its root */
		List	   *ancestors = get_partition_ancestors(oid);

		ReleaseSysCache(tp);
		if (ancestors != NIL)
		{
			Oid			root = llast_oid(ancestors);

			list_free(ancestors);
			return compute_name_hash(root, kind);
		}
		tp = SearchSysCache1(RELOID, ObjectIdGetDatum(oid));
		if (!HeapTupleIsValid(tp))
		{
			fp_add_u64(&fp, oid);
			return fp_finish(&fp);
		}
	}
	if (kind == 'r')
	{
		Form_pg_class rel = (Form_pg_class) GETSTRUCT(tp);

		add_namespace(&fp, rel->relnamespace);
		fp_add_bytes(&fp, NameStr(rel->relname), strlen(NameStr(rel->relname)));
	}
	else
	{
		Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(tp);

		add_namespace(&fp, proc->pronamespace);
		fp_add_bytes(&fp, NameStr(proc->proname), strlen(NameStr(proc->proname)));
		fp_add_u64(&fp, proc->pronargs);
	}
	ReleaseSysCache(tp);
	return fp_finish(&fp);
}

/* Returns the (cached) fingerprint of a relation's or function's name. */
static uint64
name_hash(Oid oid, char kind)
{
	NameSlot   *slot = name_slot(oid, kind);
	uint64		h;
	uint64		generation;

	if (slot->oid != InvalidOid)
		return slot->hash;

	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(name_cache_rel_inval, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, name_cache_flush, (Datum) 0);
		CacheRegisterSyscacheCallback(PROCOID, name_cache_flush, (Datum) 0);
		callbacks_registered = true;
	}

	/* catalog lookups can run invalidation callbacks: no pointer held across */
	generation = name_generation;
	h = compute_name_hash(oid, kind);
	if (generation != name_generation || !OidIsValid(oid))
		return h;				/* something changed meanwhile: do not cache */

	if (name_used >= NAME_MAX_USED)
		name_cache_flush((Datum) 0, 0, 0);
	slot = name_slot(oid, kind);
	slot->oid = oid;
	slot->kind = kind;
	slot->hash = h;
	name_used++;
	return h;
}

/* Feeds the name of range-table entry 'rti' (a relation), if any. */
static inline void
add_rel(PlanWalk *w, Index rti)
{
	RangeTblEntry *rte;

	if (rti == 0 || rti > (Index) list_length(w->rtable))
	{
		fp_add_u64(&w->fp, 0);
		return;
	}
	rte = rt_fetch(rti, w->rtable);
	if (rte->rtekind == RTE_RELATION && OidIsValid(rte->relid))
		fp_add_u64(&w->fp, name_hash(rte->relid, 'r'));
	else
		fp_add_u64(&w->fp, (uint64) rte->rtekind + 1);
}

/* Feeds the name of an index. */
static inline void
add_index(PlanWalk *w, Oid indexid)
{
	fp_add_u64(&w->fp, name_hash(indexid, 'r'));
}

/* Walks every plan of a list, feeding its length first. */
static void
walk_list(PlanWalk *w, List *plans)
{
	ListCell   *lc;

	fp_add_u64(&w->fp, list_length(plans));
	foreach(lc, plans)
	{
		if (lfirst(lc))
			walk_plan(w, (Plan *) lfirst(lc));
		else
			fp_add_u64(&w->fp, 0);
	}
}

/*
 * One word per node: its code (bits 0-7), parallel-awareness (8), whether it
 * has a left and a right child (9, 10), its number of init-plans (11-15),
 * and up to three small fields of its own (16-31, 32-47, 48-63).  Names and
 * lists of children follow as words of their own.
 */
static inline uint64
node_word(int code, const Plan *plan, uint64 a, uint64 b, uint64 c)
{
	return (uint64) code |
		((uint64) (plan->parallel_aware != 0) << 8) |
		((uint64) (plan->lefttree != NULL) << 9) |
		((uint64) (plan->righttree != NULL) << 10) |
		((uint64) Min(list_length(plan->initPlan), 31) << 11) |
		((a & 0xFFFF) << 16) | ((b & 0xFFFF) << 32) | ((c & 0xFFFF) << 48);
}

/* Feeds one plan node, then its init-plans and children, recursively. */
static void
walk_plan(PlanWalk *w, Plan *plan)
{
	fp_t	   *fp = &w->fp;
	ListCell   *lc;

	switch (nodeTag(plan))
	{
		case T_Result:
			fp_add_u64(fp, node_word(1, plan, ((Result *) plan)->resconstantqual != NULL, 0, 0));
			break;
		case T_ProjectSet:
			fp_add_u64(fp, node_word(2, plan, 0, 0, 0));
			break;
		case T_ModifyTable:
			{
				ModifyTable *mt = (ModifyTable *) plan;

				fp_add_u64(fp, node_word(3, plan, mt->operation, mt->onConflictAction,
										 list_length(mt->resultRelations)));
				foreach(lc, mt->resultRelations)
					add_rel(w, lfirst_int(lc));
				break;
			}
		case T_Append:
			fp_add_u64(fp, node_word(4, plan, 0, 0, 0));
			walk_list(w, ((Append *) plan)->appendplans);
			break;
		case T_MergeAppend:
			fp_add_u64(fp, node_word(5, plan, ((MergeAppend *) plan)->numCols, 0, 0));
			walk_list(w, ((MergeAppend *) plan)->mergeplans);
			break;
		case T_RecursiveUnion:
			fp_add_u64(fp, node_word(6, plan, 0, 0, 0));
			break;
		case T_BitmapAnd:
			fp_add_u64(fp, node_word(7, plan, 0, 0, 0));
			walk_list(w, ((BitmapAnd *) plan)->bitmapplans);
			break;
		case T_BitmapOr:
			fp_add_u64(fp, node_word(8, plan, 0, 0, 0));
			walk_list(w, ((BitmapOr *) plan)->bitmapplans);
			break;
		case T_SeqScan:
			fp_add_u64(fp, node_word(9, plan, 0, 0, 0));
			add_rel(w, ((Scan *) plan)->scanrelid);
			break;
		case T_SampleScan:
			fp_add_u64(fp, node_word(10, plan, 0, 0, 0));
			add_rel(w, ((Scan *) plan)->scanrelid);
			break;
		case T_IndexScan:
			{
				IndexScan  *is = (IndexScan *) plan;

				fp_add_u64(fp, node_word(11, plan, is->indexorderdir + 1,
										 list_length(is->indexqual),
										 list_length(is->indexorderby)));
				/* the index names its table too */
				add_index(w, is->indexid);
				break;
			}
		case T_IndexOnlyScan:
			{
				IndexOnlyScan *is = (IndexOnlyScan *) plan;

				fp_add_u64(fp, node_word(12, plan, is->indexorderdir + 1,
										 list_length(is->indexqual),
										 list_length(is->indexorderby)));
				/* the index names its table too */
				add_index(w, is->indexid);
				break;
			}
		case T_BitmapIndexScan:
			{
				BitmapIndexScan *bis = (BitmapIndexScan *) plan;

				fp_add_u64(fp, node_word(13, plan, list_length(bis->indexqual), 0, 0));
				add_index(w, bis->indexid);
				break;
			}
		case T_BitmapHeapScan:
			fp_add_u64(fp, node_word(14, plan, 0, 0, 0));
			add_rel(w, ((Scan *) plan)->scanrelid);
			break;
		case T_TidScan:
			fp_add_u64(fp, node_word(15, plan, 0, 0, 0));
			add_rel(w, ((Scan *) plan)->scanrelid);
			break;
		case T_TidRangeScan:
			fp_add_u64(fp, node_word(16, plan, 0, 0, 0));
			add_rel(w, ((Scan *) plan)->scanrelid);
			break;
		case T_SubqueryScan:
			fp_add_u64(fp, node_word(17, plan, ((SubqueryScan *) plan)->subplan != NULL, 0, 0));
			if (((SubqueryScan *) plan)->subplan)
				walk_plan(w, ((SubqueryScan *) plan)->subplan);
			break;
		case T_FunctionScan:
			{
				FunctionScan *fs = (FunctionScan *) plan;

				fp_add_u64(fp, node_word(18, plan, list_length(fs->functions), 0, 0));
				foreach(lc, fs->functions)
				{
					RangeTblFunction *rtf = lfirst_node(RangeTblFunction, lc);

					if (rtf->funcexpr && IsA(rtf->funcexpr, FuncExpr))
						fp_add_u64(fp, name_hash(((FuncExpr *) rtf->funcexpr)->funcid, 'f'));
					else
						fp_add_u64(fp, 0);
				}
				break;
			}
		case T_ValuesScan:
			fp_add_u64(fp, node_word(19, plan, 0, 0, 0));
			break;
		case T_TableFuncScan:
			fp_add_u64(fp, node_word(20, plan, 0, 0, 0));
			break;
		case T_CteScan:
			fp_add_u64(fp, node_word(21, plan, ((CteScan *) plan)->ctePlanId, 0, 0));
			break;
		case T_NamedTuplestoreScan:
			fp_add_u64(fp, node_word(22, plan, 0, 0, 0));
			break;
		case T_WorkTableScan:
			fp_add_u64(fp, node_word(23, plan, 0, 0, 0));
			break;
		case T_ForeignScan:
			fp_add_u64(fp, node_word(24, plan, ((ForeignScan *) plan)->operation,
									 ((Scan *) plan)->scanrelid > 0, 0));
			if (((Scan *) plan)->scanrelid > 0)
				add_rel(w, ((Scan *) plan)->scanrelid);
			break;
		case T_CustomScan:
			{
				CustomScan *cs = (CustomScan *) plan;

				fp_add_u64(fp, node_word(25, plan, cs->scan.scanrelid > 0, 0, 0));
				if (cs->methods && cs->methods->CustomName)
					fp_add_bytes(fp, cs->methods->CustomName,
								 strlen(cs->methods->CustomName));
				if (cs->scan.scanrelid > 0)
					add_rel(w, cs->scan.scanrelid);
				walk_list(w, cs->custom_plans);
				break;
			}
		case T_NestLoop:
			fp_add_u64(fp, node_word(26, plan, ((Join *) plan)->jointype, 0, 0));
			break;
		case T_MergeJoin:
			fp_add_u64(fp, node_word(27, plan, ((Join *) plan)->jointype, 0, 0));
			break;
		case T_HashJoin:
			fp_add_u64(fp, node_word(28, plan, ((Join *) plan)->jointype, 0, 0));
			break;
		case T_Material:
			fp_add_u64(fp, node_word(29, plan, 0, 0, 0));
			break;
		case T_Memoize:
			fp_add_u64(fp, node_word(30, plan, 0, 0, 0));
			break;
		case T_Sort:
			fp_add_u64(fp, node_word(31, plan, ((Sort *) plan)->numCols, 0, 0));
			break;
		case T_IncrementalSort:
			fp_add_u64(fp, node_word(32, plan, ((IncrementalSort *) plan)->sort.numCols,
									 ((IncrementalSort *) plan)->nPresortedCols, 0));
			break;
		case T_Group:
			fp_add_u64(fp, node_word(33, plan, ((Group *) plan)->numCols, 0, 0));
			break;
		case T_Agg:
			{
				Agg		   *agg = (Agg *) plan;

				fp_add_u64(fp, node_word(34, plan,
										 agg->aggstrategy | (agg->aggsplit << 8),
										 agg->numCols, list_length(agg->chain)));
				break;
			}
		case T_WindowAgg:
			fp_add_u64(fp, node_word(35, plan, 0, 0, 0));
			break;
		case T_Unique:
			fp_add_u64(fp, node_word(36, plan, ((Unique *) plan)->numCols, 0, 0));
			break;
		case T_Gather:
			fp_add_u64(fp, node_word(37, plan, ((Gather *) plan)->single_copy, 0, 0));
			break;
		case T_GatherMerge:
			fp_add_u64(fp, node_word(38, plan, 0, 0, 0));
			break;
		case T_Hash:
			fp_add_u64(fp, node_word(39, plan, 0, 0, 0));
			break;
		case T_SetOp:
			fp_add_u64(fp, node_word(40, plan, ((SetOp *) plan)->cmd,
									 ((SetOp *) plan)->strategy, 0));
			break;
		case T_LockRows:
			fp_add_u64(fp, node_word(41, plan, 0, 0, 0));
			break;
		case T_Limit:
			fp_add_u64(fp, node_word(42, plan, ((Limit *) plan)->limitOption, 0, 0));
			break;
		default:
			/* a node type this walk does not know: still part of the shape */
			fp_add_u64(fp, node_word(255, plan, nodeTag(plan), 0, 0));
			break;
	}

	/* init-plans hang off the node; their plans are in stmt->subplans */
	foreach(lc, plan->initPlan)
	{
		SubPlan    *sp = (SubPlan *) lfirst(lc);

		fp_add_u64(fp, ((uint64) sp->plan_id << 8) | (uint64) sp->subLinkType);
	}

	if (plan->lefttree)
		walk_plan(w, plan->lefttree);
	if (plan->righttree)
		walk_plan(w, plan->righttree);
}

/* Returns the plan-id cache slot of a PlannedStmt address. */
static inline int
plan_slot(const PlannedStmt *stmt)
{
	return (int) (((uintptr_t) stmt >> 4) & (PLAN_SLOTS - 1));
}

/* Empties a slot whose plan's memory is being reset or deleted. */
static void
plan_slot_release(void *arg)
{
	PlanSlotRelease *rel = arg;

	if (plan_slots[rel->slot].cxt == rel->cxt)
		plan_slots[rel->slot].stmt = NULL;
}

/*
 * Makes sure a callback clears slot 'slot' when 'cxt' goes; one per memory
 * and slot, so that a plan cached again and again adds nothing.
 */
static void
watch_plan_memory(MemoryContext cxt, int slot)
{
	PlanSlotRelease *rel;

	for (MemoryContextCallback *cb = cxt->reset_cbs; cb != NULL; cb = cb->next)
		if (cb->func == plan_slot_release &&
			((PlanSlotRelease *) cb->arg)->slot == slot)
			return;
	rel = MemoryContextAlloc(cxt, sizeof(PlanSlotRelease));
	rel->cxt = cxt;
	rel->slot = slot;
	rel->cb.func = plan_slot_release;
	rel->cb.arg = rel;
	MemoryContextRegisterResetCallback(cxt, &rel->cb);
}

/* Reports whether a plan lives in a plan cache entry's memory. */
static inline bool
in_plan_cache(MemoryContext cxt)
{
	return cxt->name != NULL && strcmp(cxt->name, "CachedPlan") == 0;
}

/* Walks a plan: the fingerprint proper. */
static uint64
compute_planid(PlannedStmt *stmt)
{
	PlanWalk	w;
	ListCell   *lc;

	fp_init(&w.fp);
	w.rtable = stmt->rtable;
	fp_add_u64(&w.fp, ((uint64) list_length(stmt->subplans) << 8) | stmt->commandType);
	if (stmt->planTree)
		walk_plan(&w, stmt->planTree);
	/* sub-plans, in plan_id order; some may have been removed as unused */
	foreach(lc, stmt->subplans)
	{
		if (lfirst(lc))
			walk_plan(&w, (Plan *) lfirst(lc));
		else
			fp_add_u64(&w.fp, 0);
	}
	return fp_finish(&w.fp);
}

void
PgperfSetPlanId(PlannedStmt *stmt)
{
	if (!PGPERF_HAS_PLAN_ID || !pgperf_plan_id)
		return;
	if (PGPERF_GET_PLAN_ID(stmt) != UINT64CONST(0))
		foreign_plan_ids = true;	/* a module planned inside us set it */
	else
		PGPERF_SET_PLAN_ID(stmt, compute_planid(stmt));
}

uint64
PgperfPlanId(PlannedStmt *stmt)
{
	int			i = plan_slot(stmt);
	PlanSlot   *slot = &plan_slots[i];
	uint64		generation = name_generation;
	uint64		planid;
	MemoryContext cxt;

	/* set by pgperf's planner hook (18 and later), copied with the plan */
	if (pgperf_plan_id && !foreign_plan_ids &&
		PGPERF_GET_PLAN_ID(stmt) != UINT64CONST(0))
	{
		if (plan_ids_checked)
			return PGPERF_GET_PLAN_ID(stmt);
		/* once per backend: is it ours, or did another module set it? */
		plan_ids_checked = true;
		foreign_plan_ids = (compute_planid(stmt) != PGPERF_GET_PLAN_ID(stmt));
		if (!foreign_plan_ids)
			return PGPERF_GET_PLAN_ID(stmt);
	}
	if (slot->stmt == stmt && slot->generation == generation)
		return slot->planid;

	planid = compute_planid(stmt);
	cxt = GetMemoryChunkContext(stmt);
	if (generation == name_generation && in_plan_cache(cxt))
	{
		watch_plan_memory(cxt, i);
		slot->stmt = stmt;
		slot->cxt = cxt;
		slot->generation = generation;
		slot->planid = planid;
	}
	return planid;
}
