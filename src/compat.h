/*
 * compat.h
 *		Every difference between PostgreSQL major versions that pgperf meets.
 *
 * pgperf is built and tested against PostgreSQL 15 only.  The rest of the
 * code reaches every version-dependent API through the names defined here,
 * so porting to another major means editing this file (and testing it), not
 * hunting #if blocks through the sources.  The notes below list what is known
 * to change; none of those branches is written until it can be tested.
 *
 *	- 16: queryjumble.h moves to nodes/; BufferUsage keeps its names.
 *	- 17: blk_read_time/blk_write_time become shared_blk_read_time/...,
 *	      local_blk_*_time are added.
 *	- 18: ExecutorRun loses execute_once; ExecutorStart returns bool;
 *	      PlannedStmt gains planId; ExplainState moves to explain_state.h;
 *	      WalUsage gains wal_buffers_full.
 */
#ifndef PGPERF_COMPAT_H
#define PGPERF_COMPAT_H

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "pgperf has been built and tested against PostgreSQL 15 only; see src/compat.h to port it"
#endif

#include "executor/instrument.h"
#include "utils/queryjumble.h"

/* Milliseconds spent reading and writing shared/local data blocks. */
#define PGPERF_BLK_READ_MS(bu)		INSTR_TIME_GET_MILLISEC((bu)->blk_read_time)
#define PGPERF_BLK_WRITE_MS(bu)		INSTR_TIME_GET_MILLISEC((bu)->blk_write_time)
#define PGPERF_TEMP_READ_MS(bu)		INSTR_TIME_GET_MILLISEC((bu)->temp_blk_read_time)
#define PGPERF_TEMP_WRITE_MS(bu)	INSTR_TIME_GET_MILLISEC((bu)->temp_blk_write_time)

/* Arguments of ExecutorRun_hook, which change in 18. */
#define PGPERF_EXECUTORRUN_ARGS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define PGPERF_EXECUTORRUN_CALL(fn) \
	(fn) (queryDesc, direction, count, execute_once)

#endif							/* PGPERF_COMPAT_H */
