# pgperf: query-plan regression tracking for PostgreSQL (PGXS build)

EXTENSION = pgperf
MODULE_big = pgperf
DATA = pgperf--1.0.sql
PGFILEDESC = "pgperf - query-plan regression tracking"

CORE_OBJS = src/core/hist.o src/core/stats.o src/core/fp.o
OBJS = src/pgperf.o src/hooks.o src/store.o src/persist.o src/planid.o \
	src/capture.o src/normalize.o src/views.o $(CORE_OBJS)

PG_CPPFLAGS = -I$(srcdir)/src
# Warnings are errors.  -Wextra's unused-parameter check is off: hook and
# callback signatures are fixed by the server.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter
SHLIB_LINK = -lm

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
