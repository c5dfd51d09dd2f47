# pgperf: query-plan regression tracking for PostgreSQL (PGXS build)

EXTENSION = pgperf
MODULE_big = pgperf
DATA = pgperf--1.0.sql
PGFILEDESC = "pgperf - query-plan regression tracking"

CORE_OBJS = src/core/hist.o src/core/stats.o src/core/fp.o src/core/signif.o \
	src/core/diff.o src/core/plansum.o src/core/verdict.o
OBJS = src/pgperf.o src/hooks.o src/store.o src/persist.o src/planid.o \
	src/capture.o src/normalize.o src/views.o src/windows.o src/compare.o \
	src/judge.o src/changes.o src/report.o src/shape.o src/trial.o src/trial_candidates.o \
	src/trial_replay.o src/trial_judge.o src/worker.o src/settings.o \
	src/pin.o src/pin_capture.o src/pin_hints.o src/pin_advice.o src/pin_worker.o \
	$(CORE_OBJS)

PG_CPPFLAGS = -I$(srcdir)/src
# Warnings are errors.  -Wextra's unused-parameter check is off: hook and
# callback signatures are fixed by the server.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter
SHLIB_LINK = -lm

# pg_regress: sql/*.sql against expected/*.out, on a throwaway instance that
# preloads pgperf (PGXS has no "make check"; installcheck starts its own server).
REGRESS = capture planid planid_cache nesting counting samples normalize parallel privileges privileges_matrix errors \
	hostile eviction pgss windows compare failures plan_changes plan_shape baseline summary comments try_index \
	security pin
# Tests of hypopg-based trials, where hypopg is installed (Debian ships it
# for 15, 17 and 18, not yet for 19): 'make installcheck' says when they are
# left out.
HYPOPG_TESTS = try_index_hypo security_hypo
# UTF8 and the C locale whatever the environment says: with no locale set
# (a minimal image, CI) initdb would pick SQL_ASCII, and the expected outputs
# with non-ASCII texts would differ.
REGRESS_OPTS = --temp-config=$(srcdir)/test/pgperf.conf --temp-instance=./tmp_check \
	--encoding=UTF8 --no-locale

# Isolation tests (specs/): concurrent sessions, on their own throwaway instance.
ISOLATION = windows_concurrency reset_concurrency
ISOLATION_OPTS = --temp-config=$(srcdir)/test/pgperf.conf --temp-instance=./tmp_check_iso \
	--encoding=UTF8 --no-locale

# TAP tests (restarts, dump files, several clusters), run by installcheck too.
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CONFIG ?= pg_config
ifneq ($(wildcard $(shell $(PG_CONFIG) --sharedir)/extension/hypopg.control),)
REGRESS += $(HYPOPG_TESTS)
else
$(info hypopg is not installed for this server: tests $(HYPOPG_TESTS) are skipped)
endif
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies; rebuild when any header changes.
$(OBJS): $(wildcard $(srcdir)/src/*.h $(srcdir)/src/core/*.h)

# cmocka tests of src/core, built without the server's include path.
.PHONY: unittest
unittest:
	$(MAKE) -C test/unit check
