-- bookwyrm.sql: a BookWyrm-like database for pgperf's demo and scenarios.
--
--   psql -X -v scale=1 -f test/data/bookwyrm.sql DBNAME      (scale defaults to 1)
--
-- Per unit of scale: 1,500 users, 400,000 statuses, 3,000 blocks; ~4 s to load
-- at scale 1 on 2 cores.  Drops and recreates its three tables, so it can be
-- run again.  Deterministic: every random() call follows one setseed() and
-- runs in a serial statement in a fixed order, so two loads are identical
-- (checked: same md5 of every table, twice).  The pgbench workload is
-- bookwyrm_timeline.sql (pass the same scale: pgbench -s N); the index under
-- test is bookwyrm_index.sql.
--
-- The case it reproduces (shared/seeds/000_46f1eeccd85b6d70.txt): BookWyrm's
-- home-timeline query, and the index
--   CREATE INDEX ... ON bookwyrm_status (deleted, privacy, published_date DESC)
--   WHERE deleted = false;
-- In the seed the index could not help: 3,324 statuses, all live and nearly
-- all public, so `deleted = false AND privacy IN (...)` kept every row; the
-- "after" plan was still a Seq Scan, and the speed-up they saw was a warm
-- cache.  Here the data are chosen so that the index really does help on
-- PostgreSQL 15:
--
-- * Statuses are almost all tombstones.  3,600 genuine statuses (about the
--   seed's size) over 2021-01 .. 2025-08, and 396,400 spam statuses from two
--   spam waves (Feb 2024, 5 days; Mar 2025, 3 days) by ~980 throwaway remote
--   accounts, all later deleted by their home servers.  BookWyrm keeps a
--   deleted status as a tombstone: deleted = true, content cleared.  So
--   99.2% of rows are deleted, and the timeline's candidates
--   (deleted = false AND privacy IN ('public','unlisted','followers')) are
--   3,270 rows (0.8%): the partial index is 15 pages (120 kB).
-- * Statuses are stored in arrival order (id order = published_date order),
--   as a real table fills.  Tombstones come in bursts, so the live rows sit
--   together: 259 of the 9,223 heap pages hold all the candidates.  An index
--   on them reads those pages; a Seq Scan reads all 9,223.
-- * Genuine statuses: 40% by the 30 local users, 60% by ~490 genuine remote
--   readers (skewed: some are prolific); 8% deleted by their authors; the
--   live ones 92% public, 4% unlisted, 2.5% followers, 1.5% direct (the seed:
--   97% public, 3% unlisted).  Content is HTML of realistic lengths: short
--   reading-progress notes, comments, quotations, reviews of up to ~4,000
--   characters (median 241, p90 1,477).
-- * The spam accounts stay is_active (their servers suspended them, which
--   does not federate as a Delete); 1% of users (id % 100 = 0) are
--   deactivated.  So many distinct user_ids are spread over the table, which
--   keeps the planner on a Hash Join with bookwyrm_user (74 pages) rather than
--   ~960 memoized index probes, both before and after the index.
-- * Blocks: 3,000 distinct pairs, 30% made by local users, blocked accounts
--   mildly skewed.  Median viewer: 3 block rows; p99: 35; max: 67.  All 1,500
--   viewers get the same plan shape (checked with EXPLAIN for each), before
--   and after the index, with max_parallel_workers_per_gather = 0.
--
-- Measured on PostgreSQL 15.20, 2 cores (shared with other work), scale 1,
-- shared_buffers = 256MB (everything cached), max_parallel_workers_per_gather
-- = 0 as in scripts/demo.sh; EXPLAIN (ANALYZE, BUFFERS), third run of each:
--
--   viewer 777 (2 blocks)        before the index            after
--     plan                       Seq Scan on bookwyrm_status  Index Scan using
--                                 -> Hash Join -> NL Anti     ..._privacy_performance_idx
--                                 Join -> top-N Sort          -> same joins and Sort
--     shared buffers             9,302                        711     (13.1x fewer)
--     execution time             30.7 ms                      3.3 ms  (9.4x faster)
--   viewer 51 (41 blocks)
--     shared buffers             9,308                        717     (13.0x fewer)
--     execution time             42.4 ms                      15.3 ms (2.8x faster:
--                                the anti-join's OR filter, rows x blocks, dominates)
--
-- With the default max_parallel_workers_per_gather = 2, the "before" plan is a
-- Parallel Seq Scan under Gather Merge (9,618 buffers, ~38 ms for both
-- viewers); "after", viewer 777 gets the same Index Scan plan (711 buffers,
-- 3.5 ms) and viewer 51 a Parallel Bitmap Heap Scan on the index (459
-- buffers, 7.4 ms).  18 of the 1,500 viewers get that parallel plan, so the
-- demo turns parallel query off to have one plan per side.
--
-- Indexes: bookwyrm_status has its primary key and an index on user_id only
-- (not the timeline index); bookwyrm_userblocks has one on each user column.
\set ON_ERROR_STOP on
\if :{?scale}
\else
\set scale 1
\endif

SET client_min_messages = warning;
-- data generation is single-process, so that setseed() makes random() repeatable
SET max_parallel_workers_per_gather = 0;

DROP TABLE IF EXISTS bookwyrm_userblocks, bookwyrm_status, bookwyrm_user CASCADE;

SELECT 1500 * :scale AS n_users,
       3600 * :scale AS n_normal,
       396400 * :scale AS n_spam,
       3000 * :scale AS n_blocks
\gset

SELECT setseed(0.20250819) \g /dev/null

-- Users ---------------------------------------------------------------------
CREATE TABLE bookwyrm_user (
    id                          integer PRIMARY KEY,
    password                    varchar(128) NOT NULL,
    last_login                  timestamptz,
    is_superuser                boolean NOT NULL DEFAULT false,
    username                    varchar(150) NOT NULL UNIQUE,
    email                       varchar(254),
    is_staff                    boolean NOT NULL DEFAULT false,
    is_active                   boolean NOT NULL,
    date_joined                 timestamptz NOT NULL,
    created_date                timestamptz NOT NULL,
    updated_date                timestamptz NOT NULL,
    remote_id                   varchar(255) NOT NULL UNIQUE,
    inbox                       varchar(255) NOT NULL,
    shared_inbox                varchar(255),
    outbox                      varchar(255) NOT NULL,
    summary                     text,
    local                       boolean NOT NULL,
    bookwyrm_user               boolean NOT NULL,
    localname                   varchar(255),
    name                        varchar(100),
    manually_approves_followers boolean NOT NULL,
    discoverable                boolean NOT NULL,
    deactivation_reason         varchar(255),
    last_active_date            timestamptz NOT NULL
);

-- Layout by id: id % 50 = 1 are the local accounts (2%); the other ids that
-- are multiples of 3 are genuine remote readers (~31%), followed by someone
-- here; the rest (~67%) are throwaway spam accounts on open-registration
-- Mastodon-like servers, seen during the spam waves.  id % 100 = 0 are
-- deactivated accounts (1%): remote accounts deleted at home, a local
-- account closed by its owner.
INSERT INTO bookwyrm_user
SELECT id,
       'pbkdf2_sha256$260000$' || md5(id::text) AS password,
       CASE WHEN loc THEN joined + interval '1 day' * floor(random() * 300) END,
       id = 1,
       uname,
       CASE WHEN loc THEN 'reader' || id || '@mail.example' END,
       id = 1,
       id % 100 <> 0,
       joined, joined, joined + interval '1 day' * floor(random() * 200),
       'https://' || dom || upath || lname,
       'https://' || dom || upath || lname || '/inbox',
       'https://' || dom || '/inbox',
       'https://' || dom || upath || lname || '/outbox',
       CASE WHEN random() < 0.6 THEN '<p>Reader of ' || (ARRAY['science fiction','poetry','history','mysteries','fantasy','essays','comics','biographies'])[1 + floor(random() * 8)::int] || ', mostly in the evening.</p>' END,
       loc,
       NOT bot AND random() < 0.5,
       lname,
       initcap(lname),
       random() < 0.1,
       random() < 0.7,
       CASE WHEN id % 100 = 0 THEN 'self_deletion' END,
       joined + interval '1 day' * floor(random() * 400)
FROM (
    SELECT id, loc, bot, joined,
           dom,
           -- BookWyrm servers say /user/NAME, Mastodon-like ones /users/NAME
           CASE WHEN dom LIKE '%.social' OR dom LIKE 'toot.%' OR dom LIKE 'mstdn.%' OR dom LIKE 'masto.%'
                THEN '/users/' ELSE '/user/' END AS upath,
           CASE WHEN bot THEN 'promo' || id ELSE 'reader' || id END AS lname,
           CASE WHEN loc THEN 'reader' || id
                WHEN bot THEN 'promo' || id || '@' || dom
                ELSE 'reader' || id || '@' || dom END AS uname
    FROM (
      SELECT *,
           CASE WHEN loc THEN 'bookwyrm.example'
                WHEN bot THEN (ARRAY['toot.example.net','mstdn.example.jp','social.example.social'])[1 + id % 7 % 3]
                ELSE (ARRAY['books.example.net','reading.example.org','masto.example.com',
                            'lit.example.social','shelf.example.club'])[1 + id % 5] END AS dom
    FROM (
        SELECT id, id % 50 = 1 AS loc, id % 50 <> 1 AND id % 3 <> 0 AS bot,
               timestamptz '2021-01-01 00:00+00' + interval '1 day' * floor(random() * 1100) AS joined
        FROM generate_series(1, :n_users) AS id
      ) a0
    ) a
) b
ORDER BY id;

-- Statuses ------------------------------------------------------------------
CREATE TABLE bookwyrm_status (
    id                integer PRIMARY KEY,
    created_date      timestamptz NOT NULL,
    updated_date      timestamptz NOT NULL,
    remote_id         varchar(255) NOT NULL,
    content           text,
    published_date    timestamptz NOT NULL,
    sensitive         boolean NOT NULL,
    privacy           varchar(255) NOT NULL,
    deleted           boolean NOT NULL,
    deleted_date      timestamptz,
    local             boolean NOT NULL,
    user_id           integer NOT NULL,
    reply_parent_id   integer,
    thread_id         integer,
    content_warning   varchar(500),
    edited_date       timestamptz
);

-- words for status content
CREATE TEMP TABLE words AS
SELECT regexp_split_to_array(
 'the a of and to in is it that was for on with as his her book novel chapter '
 'reading read finished started author story characters plot ending prose '
 'really quite loved liked enjoyed slow beautiful strange dark funny sad '
 'world history war family love time life city night sea mountain winter '
 'translation edition series volume sequel trilogy page pages library shelf '
 'recommend five stars three four two recommended rereading favourite '
 'but not so very much more than this one every after before while because '
 'language voice structure narrator memory letters poems essays science '
 'fiction fantasy mystery thriller biography memoir classic modern short',
 '\s+') AS w;

-- Genuine traffic (n_normal): spread over 2021-01 .. 2025-08, growing with
-- time; 40% from the local users, 60% from the genuine remote readers (a few
-- of them prolific); ~8% deleted by their authors (tombstones); the live ones
-- 92% public, 4% unlisted, 2.5% followers, 1.5% direct.
-- Spam (n_spam): two waves from the spam accounts (5 days in Feb 2024, 3
-- days in Mar 2025); every one of those statuses was then deleted by its
-- home server, which BookWyrm stores as a tombstone: deleted = true, content
-- cleared.  (The accounts themselves stay is_active: their servers suspended
-- them, which is not federated as a Delete.)
CREATE TEMP TABLE bots AS
SELECT row_number() OVER (ORDER BY id)::int AS n, id
FROM bookwyrm_user WHERE id % 50 <> 1 AND id % 3 <> 0;
SELECT count(*) AS n_bots FROM bots \gset

CREATE TEMP TABLE staging AS
SELECT i AS k, false AS spam, pub,
       CASE WHEN u % 50 = 1 AND NOT loc THEN u + 3 ELSE u END AS user_id,
       r_del < 0.08 AS deleted,
       CASE WHEN r_priv < 0.92 THEN 'public' WHEN r_priv < 0.96 THEN 'unlisted'
            WHEN r_priv < 0.985 THEN 'followers' ELSE 'direct' END AS privacy,
       kind
FROM (
    SELECT *,
           CASE WHEN loc THEN 1 + 50 * floor(r_u * (:n_users / 50))::int
                ELSE 3 * (1 + floor(power(r_u, 2) * (:n_users / 3 - 1))::int) END AS u
    FROM (
        SELECT i,
               timestamptz '2021-01-01 00:00+00'
                 + (timestamptz '2025-08-19 00:00+00' - timestamptz '2021-01-01 00:00+00')
                   * power((i - random()) / :n_normal, 0.6) AS pub,
               random() < 0.4 AS loc, random() AS r_u,
               random() AS r_del, random() AS r_priv,
               (ARRAY['comment','comment','comment','comment','review','review',
                      'quotation','quotation','note','note'])[1 + floor(random() * 10)::int] AS kind
        FROM generate_series(1, :n_normal) AS i
    ) g0
) g
UNION ALL
SELECT :n_normal + i, true, pub, b.id, true, 'public', 'comment'
FROM (
    SELECT i,
           CASE WHEN i <= :n_spam * 2 / 3
                THEN timestamptz '2024-02-15 00:00+00' + interval '5 days' * random()
                ELSE timestamptz '2025-03-02 00:00+00' + interval '3 days' * random() END AS pub,
           1 + floor(random() * :n_bots)::int AS bn
    FROM generate_series(1, :n_spam) AS i
) sp JOIN bots b ON b.n = sp.bn;

INSERT INTO bookwyrm_status
SELECT id,
       pub, pub + CASE WHEN deleted THEN del_after ELSE interval '0' END,
       -- BookWyrm: .../user/NAME/comment/ID; Mastodon-like: .../users/NAME/statuses/SNOWFLAKE
       CASE WHEN u_remote LIKE '%/users/%'
            THEN u_remote || '/statuses/' || (floor(extract(epoch FROM pub) * 1000)::bigint * 65536 + id % 65536)
            ELSE u_remote || '/' || kind || '/' || id END,
       CASE WHEN deleted THEN NULL ELSE content END,
       pub,
       NOT deleted AND random() < 0.03,
       privacy, deleted,
       CASE WHEN deleted THEN pub + del_after END,
       local, user_id,
       CASE WHEN kind = 'comment' AND NOT spam AND random() < 0.25 AND id > 100
            THEN id - 1 - floor(random() * 80)::int END,
       id,
       CASE WHEN NOT deleted AND random() < 0.02 THEN 'spoilers' END,
       NULL
FROM (
    SELECT row_number() OVER (ORDER BY st.pub, st.k)::int AS id, st.*,
           u.local, u.remote_id AS u_remote,
           CASE WHEN st.spam THEN interval '1 minute' * floor(60 + random() * 2880)
                ELSE interval '1 hour' * floor(1 + random() * 2000) END AS del_after,
           CASE WHEN st.spam OR st.deleted THEN NULL
                ELSE '<p>' || (SELECT string_agg(w[1 + floor(random() * array_length(w, 1))::int], ' ')
                               FROM words, generate_series(1,
                                    CASE st.kind
                                      WHEN 'note'      THEN 6 + floor(random() * 8)::int + 0 * st.k
                                      WHEN 'comment'   THEN 8 + floor(power(random(), 2) * 80)::int
                                      WHEN 'quotation' THEN 20 + floor(random() * 90)::int
                                      ELSE 80 + floor(power(random(), 2) * 600)::int END))
                     || '</p>' END AS content
    FROM staging st JOIN bookwyrm_user u ON u.id = st.user_id
) s
ORDER BY id;

ALTER TABLE bookwyrm_status
    ADD FOREIGN KEY (user_id) REFERENCES bookwyrm_user (id);
CREATE INDEX bookwyrm_status_user_id ON bookwyrm_status (user_id);

-- Blocks --------------------------------------------------------------------
-- n_blocks distinct pairs; 30% of the blockers are local users (BookWyrm also
-- stores blocks federated from other servers).  Blocked accounts are skewed
-- towards the prolific posters.
CREATE TABLE bookwyrm_userblocks (
    id               integer PRIMARY KEY,
    created_date     timestamptz NOT NULL,
    updated_date     timestamptz NOT NULL,
    remote_id        varchar(255) NOT NULL,
    user_subject_id  integer NOT NULL REFERENCES bookwyrm_user (id),
    user_object_id   integer NOT NULL REFERENCES bookwyrm_user (id)
);

INSERT INTO bookwyrm_userblocks
SELECT row_number() OVER (ORDER BY subj, obj)::int, t, t,
       'https://bookwyrm.example/user/reader' || subj || '/block/' || row_number() OVER (ORDER BY subj, obj),
       subj, obj
FROM (
    SELECT DISTINCT ON (subj, obj) subj, obj, t
    FROM (
        SELECT CASE WHEN random() < 0.3 THEN 1 + 50 * floor(random() * (:n_users / 50))::int
                    ELSE 1 + floor(random() * :n_users)::int END AS subj,
               1 + floor(power(random(), 1.5) * :n_users)::int AS obj,
               timestamptz '2021-06-01 00:00+00' + interval '1 hour' * floor(random() * 36000) AS t
        FROM generate_series(1, :n_blocks * 11 / 10)
    ) c
    WHERE subj <> obj
    ORDER BY subj, obj, t
) d
ORDER BY subj, obj
LIMIT :n_blocks;

CREATE INDEX bookwyrm_userblocks_user_subject_id ON bookwyrm_userblocks (user_subject_id);
CREATE INDEX bookwyrm_userblocks_user_object_id ON bookwyrm_userblocks (user_object_id);

DROP TABLE staging;
DROP TABLE bots;
DROP TABLE words;

-- VACUUM sets hint bits and the visibility map now, so that the first runs
-- of the workload do not pay for it; it also ANALYZEs.
VACUUM (ANALYZE) bookwyrm_user, bookwyrm_status, bookwyrm_userblocks;
