/* sqlite_schema.c: the SQLite schema, its migrations, and every statement
 * the backend runs against it.
 *
 * Migrations are append-only: a released step is never edited; a change
 * is a new step. Each step runs in its own transaction together with the
 * row that records it in schema_version, so a crash leaves the database at
 * one version or the next, never between. Instants are int64 microseconds
 * since the epoch (UTC), like everywhere in chime. Tables are STRICT: a
 * value of the wrong type is an error, not a silent conversion. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "../banned.h"

const struct sqlite_migration sqlite_migrations[] = {
    {1,
     /* Jobs are never deleted as rows: deleted_us marks them, so their
      * versions, runs and the id those runs reference stay. Putting the
      * name again revives the row with the next version. */
     "CREATE TABLE jobs ("
     " id INTEGER PRIMARY KEY,"
     " namespace TEXT NOT NULL,"
     " name TEXT NOT NULL,"
     " version INTEGER NOT NULL," /* the newest written */
     " created_us INTEGER NOT NULL,"
     " updated_us INTEGER NOT NULL,"
     " deleted_us INTEGER," /* NULL: live */
     " paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),"
     " consecutive_failures INTEGER NOT NULL DEFAULT 0,"
     " last_fire_us INTEGER,"
     " next_fire_us INTEGER,"
     " UNIQUE (namespace, name)"
     ") STRICT;"
     "CREATE TABLE job_versions ("
     " job_id INTEGER NOT NULL REFERENCES jobs (id),"
     " version INTEGER NOT NULL,"
     " doc TEXT NOT NULL CHECK (json_valid(doc)),"
     " created_us INTEGER NOT NULL,"
     " author TEXT,"
     " PRIMARY KEY (job_id, version)"
     ") STRICT;"
     /* the current version's "labels", for filtering the job list */
     "CREATE TABLE job_labels ("
     " job_id INTEGER NOT NULL REFERENCES jobs (id),"
     " key TEXT NOT NULL,"
     " value TEXT NOT NULL,"
     " PRIMARY KEY (job_id, key)"
     ") STRICT, WITHOUT ROWID;"
     "CREATE INDEX job_labels_by_pair ON job_labels (key, value);"
     /* One row per run. (job_id, fire_us, attempt) is unique: a fire is
      * recorded once, even by two writers. */
     "CREATE TABLE runs ("
     " id INTEGER PRIMARY KEY,"
     " job_id INTEGER NOT NULL REFERENCES jobs (id),"
     " job_version INTEGER NOT NULL,"
     " fire_us INTEGER NOT NULL,"
     " reason TEXT NOT NULL CHECK (reason IN"
     "  ('schedule', 'manual', 'retry', 'after', 'catch_up')),"
     " attempt INTEGER NOT NULL CHECK (attempt >= 1),"
     " state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded',"
     "  'failed', 'timed_out', 'cancelled', 'skipped', 'missed', 'lost')),"
     " queued_us INTEGER NOT NULL,"
     " started_us INTEGER,"
     " finished_us INTEGER,"
     " pid INTEGER,"
     " holder_pid INTEGER,"
     " exit_code INTEGER,"
     " signal INTEGER,"
     " cpu_user_ms INTEGER,"
     " cpu_sys_ms INTEGER,"
     " max_rss_kb INTEGER,"
     " output_bytes INTEGER,"
     " error TEXT,"
     " node TEXT,"
     " triggered_by TEXT,"
     " UNIQUE (job_id, fire_us, attempt)"
     ") STRICT;"
     /* pages are ordered by (fire_us, id): an index ends in the rowid */
     "CREATE INDEX runs_by_job ON runs (job_id, fire_us);"
     "CREATE INDEX runs_by_state ON runs (state, fire_us);"
     "CREATE INDEX runs_by_fire ON runs (fire_us);"
     "CREATE TABLE dead_letters ("
     " run_id INTEGER PRIMARY KEY REFERENCES runs (id),"
     " job_id INTEGER NOT NULL REFERENCES jobs (id),"
     " fire_us INTEGER NOT NULL,"
     " reason TEXT NOT NULL,"
     " created_us INTEGER NOT NULL"
     ") STRICT;"
     "CREATE INDEX dead_letters_by_job ON dead_letters (job_id);"},
    {2,
     /* The plan: what the engine schedules a job by, from the document of
      * version plan_version, so that start-up reads these columns instead
      * of parsing every document. They count only while plan_version is
      * the job's version; until the daemon writes them (a new version's
      * plan, or every job after this migration) readers use the
      * document. Texts are the document's names. */
     "ALTER TABLE jobs ADD COLUMN plan_version INTEGER;"
     "ALTER TABLE jobs ADD COLUMN kind TEXT"
     " CHECK (kind IN ('cron', 'every', 'at', 'after', 'manual'));"
     "ALTER TABLE jobs ADD COLUMN cron TEXT;"
     "ALTER TABLE jobs ADD COLUMN timezone TEXT;"
     "ALTER TABLE jobs ADD COLUMN every_us INTEGER;"
     "ALTER TABLE jobs ADD COLUMN start_us INTEGER;"
     "ALTER TABLE jobs ADD COLUMN jitter_us INTEGER;"
     "ALTER TABLE jobs ADD COLUMN at_us INTEGER;"
     "ALTER TABLE jobs ADD COLUMN after_jobs TEXT;" /* "ns/name ns/name" */
     "ALTER TABLE jobs ADD COLUMN after_when TEXT;"
     "ALTER TABLE jobs ADD COLUMN concurrency TEXT;"
     "ALTER TABLE jobs ADD COLUMN max_instances INTEGER;"
     "ALTER TABLE jobs ADD COLUMN priority INTEGER;"
     "ALTER TABLE jobs ADD COLUMN misfire_grace_us INTEGER;"
     "ALTER TABLE jobs ADD COLUMN catch_up TEXT;"
     "ALTER TABLE jobs ADD COLUMN max_catch_up INTEGER;"
     "ALTER TABLE jobs ADD COLUMN retry_max_attempts INTEGER;"
     "ALTER TABLE jobs ADD COLUMN retry_backoff_us INTEGER;"
     "ALTER TABLE jobs ADD COLUMN retry_factor REAL;"
     "ALTER TABLE jobs ADD COLUMN retry_max_backoff_us INTEGER;"
     "ALTER TABLE jobs ADD COLUMN retry_jitter REAL;"
     "ALTER TABLE jobs ADD COLUMN disable_after_failures INTEGER;"},
    {3,
     /* API tokens: the secret is never stored, only its hash (a fast
      * hash is right for 32 random bytes: nobody can guess them, so there
      * is nothing for a slow hash to protect). key is the public id the
      * secret carries, to find the row without the secret. A revoked
      * token keeps its row (the audit log names it), and its name is
      * free for a new token. */
     "CREATE TABLE tokens ("
     " id INTEGER PRIMARY KEY,"
     " key TEXT NOT NULL UNIQUE,"
     " name TEXT NOT NULL,"
     " role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),"
     " namespaces TEXT CHECK (namespaces IS NULL OR json_valid(namespaces)),"
     " hash BLOB NOT NULL,"
     " created_us INTEGER NOT NULL,"
     " created_by TEXT,"
     " expires_us INTEGER,"
     " revoked_us INTEGER"
     ") STRICT;"
     "CREATE UNIQUE INDEX tokens_live_by_name ON tokens (name) WHERE revoked_us IS NULL;"
     /* Every mutating API request: who (the token's name, kept even when
      * the token goes), from where, what, on which job and versions, and
      * the status answered. Pages go newest first by id. */
     "CREATE TABLE audit ("
     " id INTEGER PRIMARY KEY,"
     " at_us INTEGER NOT NULL,"
     " token TEXT,"
     " address TEXT,"
     " method TEXT NOT NULL,"
     " route TEXT NOT NULL,"
     " target TEXT NOT NULL,"
     " namespace TEXT,"
     " job TEXT,"
     " run_id INTEGER,"
     " version_before INTEGER,"
     " version_after INTEGER,"
     " status INTEGER NOT NULL"
     ") STRICT;"
     "CREATE INDEX audit_by_job ON audit (namespace, job);"
     "CREATE INDEX audit_by_token ON audit (token);"
     "CREATE INDEX audit_by_time ON audit (at_us);"},
    {4,
     /* The notification outbox: one row per (event, channel), written in
      * the transaction that sees the event, delivered by the notifier's
      * threads (docs/notify.md). (event_key, channel) is unique, so an
      * event replayed after a restart is recorded once; delivery_id is
      * random and fixed, what receivers deduplicate by. due_us is the
      * next attempt of a pending row and the lease end of a delivering
      * one. run_id has no reference: runs are pruned, notifications
      * stay until their own retention. */
     "CREATE TABLE outbox ("
     " id INTEGER PRIMARY KEY,"
     " delivery_id TEXT NOT NULL UNIQUE,"
     " event_key TEXT NOT NULL,"
     " job_id INTEGER NOT NULL REFERENCES jobs (id),"
     " run_id INTEGER,"
     " event TEXT NOT NULL CHECK (event IN ('failure', 'success', 'timeout', 'retry',"
     "  'recovery', 'disabled', 'stuck')),"
     " channel TEXT NOT NULL,"
     " payload TEXT NOT NULL CHECK (json_valid(payload)),"
     " state TEXT NOT NULL CHECK (state IN ('pending', 'delivering', 'delivered', 'failed')),"
     " attempts INTEGER NOT NULL DEFAULT 0,"
     " created_us INTEGER NOT NULL,"
     " due_us INTEGER NOT NULL,"
     " updated_us INTEGER NOT NULL,"
     " delivered_us INTEGER,"
     " last_status INTEGER,"
     " last_error TEXT,"
     " UNIQUE (event_key, channel)"
     ") STRICT;"
     "CREATE INDEX outbox_due ON outbox (due_us) WHERE state IN ('pending', 'delivering');"
     "CREATE INDEX outbox_by_job ON outbox (job_id);"},
    {6,
     /* Retention: the document's "retention" members, part of the plan
      * (written with it, kept when the job is deleted, so a deleted
      * job's runs age out under its last limits). NULL: the daemon's
      * default. The store reads them itself when it applies retention
      * (sqlite_retain.c); the engine never does. */
     "ALTER TABLE jobs ADD COLUMN retain_runs INTEGER CHECK (retain_runs > 0);"
     "ALTER TABLE jobs ADD COLUMN retain_for_us INTEGER CHECK (retain_for_us > 0);"
     "ALTER TABLE jobs ADD COLUMN retain_output INTEGER CHECK (retain_output > 0);"
     "ALTER TABLE jobs ADD COLUMN retain_dead_letters INTEGER"
     " CHECK (retain_dead_letters > 0);"},
    {7,
     /* The daemon's own events (error_rate, error_rate_ok: docs/notify.md)
      * belong to no job: job_id becomes nullable, NULL exactly for them.
      * SQLite cannot alter a column or a CHECK, so the table is rebuilt
      * (its rows, ids and delivery ids kept) and its indexes made again.
      * Nothing references outbox, so dropping it checks no foreign key. */
     "CREATE TABLE outbox_new ("
     " id INTEGER PRIMARY KEY,"
     " delivery_id TEXT NOT NULL UNIQUE,"
     " event_key TEXT NOT NULL,"
     " job_id INTEGER REFERENCES jobs (id),"
     " run_id INTEGER,"
     " event TEXT NOT NULL CHECK (event IN ('failure', 'success', 'timeout', 'retry',"
     "  'recovery', 'disabled', 'stuck', 'error_rate', 'error_rate_ok')),"
     " channel TEXT NOT NULL,"
     " payload TEXT NOT NULL CHECK (json_valid(payload)),"
     " state TEXT NOT NULL CHECK (state IN ('pending', 'delivering', 'delivered', 'failed')),"
     " attempts INTEGER NOT NULL DEFAULT 0,"
     " created_us INTEGER NOT NULL,"
     " due_us INTEGER NOT NULL,"
     " updated_us INTEGER NOT NULL,"
     " delivered_us INTEGER,"
     " last_status INTEGER,"
     " last_error TEXT,"
     " UNIQUE (event_key, channel),"
     " CHECK ((job_id IS NULL) = (event IN ('error_rate', 'error_rate_ok')))"
     ") STRICT;"
     "INSERT INTO outbox_new (id, delivery_id, event_key, job_id, run_id, event, channel,"
     " payload, state, attempts, created_us, due_us, updated_us, delivered_us, last_status,"
     " last_error)"
     " SELECT id, delivery_id, event_key, job_id, run_id, event, channel, payload, state,"
     " attempts, created_us, due_us, updated_us, delivered_us, last_status, last_error"
     " FROM outbox;"
     "DROP TABLE outbox;"
     "ALTER TABLE outbox_new RENAME TO outbox;"
     "CREATE INDEX outbox_due ON outbox (due_us) WHERE state IN ('pending', 'delivering');"
     "CREATE INDEX outbox_by_job ON outbox (job_id);"},
    {8,
     /* Each namespace's job user, allocated from the daemon's uid range
      * (docs/security.md): stable across restarts, and never two
      * namespaces with one uid. A namespace is a name, not a row of its
      * own, so nothing references jobs. */
     "CREATE TABLE ns_users ("
     " namespace TEXT PRIMARY KEY,"
     " uid INTEGER NOT NULL UNIQUE CHECK (uid > 0 AND uid < 2147483647)"
     ") STRICT;"},
};

const size_t sqlite_n_migrations = sizeof sqlite_migrations / sizeof sqlite_migrations[0];

#define JOB_COLS                                                                                   \
    "j.id, j.namespace, j.name, v.version, j.version, v.doc, v.author,"                            \
    " v.created_us, j.created_us, j.paused, j.consecutive_failures,"                               \
    " j.last_fire_us, j.next_fire_us"
#define JOB_FROM " FROM jobs j JOIN job_versions v ON v.job_id = j.id"

#define RUN_COLS                                                                                   \
    "r.id, r.job_id, j.namespace, j.name, r.job_version, r.fire_us,"                               \
    " r.reason, r.attempt, r.state, r.queued_us, r.started_us,"                                    \
    " r.finished_us, r.pid, r.holder_pid, r.exit_code, r.signal,"                                  \
    " r.cpu_user_ms, r.cpu_sys_ms, r.max_rss_kb, r.output_bytes, r.error,"                         \
    " r.node, r.triggered_by"
#define RUN_FROM " FROM runs r JOIN jobs j ON j.id = r.job_id"

#define TOKEN_COLS                                                                                 \
    "id, key, name, role, namespaces, hash, created_us, created_by, expires_us, revoked_us"
#define AUDIT_COLS                                                                                 \
    "id, at_us, token, address, method, route, target, namespace, job, run_id,"                    \
    " version_before, version_after, status"
/* Only jobs in the namespaces of the JSON array bound to PARAM (those a
 * token sees); NULL: every namespace. */
#define NS_IN(param) " AND (" param " IS NULL OR j.namespace IN (SELECT value FROM json_each(" param ")))"
/* ?9: a JSON array of the namespaces a token sees; NULL: every one */
#define AUDIT_NS_IN " AND (?9 IS NULL OR namespace IN (SELECT value FROM json_each(?9)))"

#define OUTBOX_COLS                                                                                \
    "o.id, o.delivery_id, o.job_id, j.namespace, j.name, o.run_id, o.event, o.channel,"            \
    " o.payload, o.state, o.attempts, o.created_us, o.due_us, o.updated_us, o.delivered_us,"       \
    " o.last_status, o.last_error"
/* a daemon event's row has no job: its namespace and name are NULL */
#define OUTBOX_FROM " FROM outbox o LEFT JOIN jobs j ON j.id = o.job_id"
/* ?3: one namespace, ?4: a JSON array of the namespaces a token sees;
 * NULL: every one. A row without a job (NULL namespace) passes only when
 * both are NULL: a token limited to namespaces never sees the daemon's
 * own events. */
#define OUTBOX_NS_IN                                                                               \
    " AND (?3 IS NULL OR j.namespace = ?3)"                                                        \
    " AND (?4 IS NULL OR j.namespace IN (SELECT value FROM json_each(?4)))"

static const char *const sql[SQ_COUNT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_SAVEPOINT] = "SAVEPOINT op",
    [SQ_RELEASE] = "RELEASE op",
    [SQ_ROLLBACK_TO] = "ROLLBACK TO op",

    [SQ_JOB_FIND] = "SELECT id, version, deleted_us IS NULL FROM jobs"
                    " WHERE namespace = ?1 AND name = ?2",
    /* equal but for "paused", which is the job's state (the jobs row), not
     * a version of its document */
    [SQ_VERSION_SAME] = "SELECT CASE WHEN doc = ?3 THEN 1 WHEN json_valid(?3)"
                        " THEN json_remove(doc, '$.paused') = json_remove(?3, '$.paused')"
                        " ELSE 0 END FROM job_versions WHERE job_id = ?1 AND version = ?2",
    /* with its plan (?2: 1, or NULL without one) in the same row; the
     * plan's parameters are SQ_JOB_PLAN's (?3 .. ?27), ?1 is unused */
    [SQ_JOB_INSERT] = "INSERT INTO jobs (namespace, name, version, created_us, updated_us, paused,"
                      " plan_version, kind, cron, timezone, every_us, start_us, jitter_us, at_us,"
                      " after_jobs, after_when, concurrency, max_instances, priority,"
                      " misfire_grace_us, catch_up, max_catch_up, retry_max_attempts,"
                      " retry_backoff_us, retry_factor, retry_max_backoff_us, retry_jitter,"
                      " disable_after_failures, retain_runs, retain_for_us, retain_output,"
                      " retain_dead_letters)"
                      " VALUES (?28, ?29, 1, ?30, ?30, ?31, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
                      " ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24,"
                      " ?25, ?26, ?27) ON CONFLICT (namespace, name) DO NOTHING RETURNING id",
    /* a new version; a deleted job comes back with fresh state */
    [SQ_JOB_BUMP] = "UPDATE jobs SET version = version + 1, updated_us = ?2, paused = ?3,"
                    " created_us = CASE WHEN deleted_us IS NULL THEN created_us ELSE ?2 END,"
                    " consecutive_failures = CASE WHEN deleted_us IS NULL"
                    "  THEN consecutive_failures ELSE 0 END,"
                    " last_fire_us = CASE WHEN deleted_us IS NULL THEN last_fire_us END,"
                    " next_fire_us = CASE WHEN deleted_us IS NULL THEN next_fire_us END,"
                    " deleted_us = NULL"
                    " WHERE id = ?1 RETURNING version",
    [SQ_VERSION_INSERT] = "INSERT INTO job_versions (job_id, version, doc, created_us, author)"
                          " VALUES (?1, ?2, ?3, ?4, ?5)",
    [SQ_LABELS_DELETE] = "DELETE FROM job_labels WHERE job_id = ?1",
    [SQ_LABELS_INSERT] = "INSERT INTO job_labels (job_id, key, value)"
                         " SELECT ?1, key, value FROM json_each(?2, '$.labels')"
                         " WHERE json_type(?2, '$.labels') = 'object' AND type = 'text'",
    [SQ_JOB_DELETE] = "UPDATE jobs SET deleted_us = ?2, updated_us = ?2 WHERE id = ?1",
    [SQ_DEAD_DELETE_JOB] = "DELETE FROM dead_letters WHERE job_id = ?1",
    [SQ_JOB_STATE] =
        "UPDATE jobs SET"
        " paused = CASE WHEN ?2 & 1 THEN ?3 ELSE paused END,"
        " consecutive_failures = CASE WHEN ?2 & 2 THEN ?4 ELSE consecutive_failures END,"
        " last_fire_us = CASE WHEN ?2 & 4 THEN ?5 ELSE last_fire_us END,"
        " next_fire_us = CASE WHEN ?2 & 8 THEN ?6 ELSE next_fire_us END"
        " WHERE id = ?1 AND deleted_us IS NULL",
    [SQ_JOB_GET] = "SELECT " JOB_COLS JOB_FROM " AND v.version = j.version"
                   " WHERE j.namespace = ?1 AND j.name = ?2 AND j.deleted_us IS NULL",
    [SQ_JOB_GET_VERSION] = "SELECT " JOB_COLS JOB_FROM " AND v.version = ?3"
                           " WHERE j.namespace = ?1 AND j.name = ?2 AND j.deleted_us IS NULL",
    [SQ_VERSION_LIST] = "SELECT version, created_us, author, length(CAST(doc AS BLOB))"
                        " FROM job_versions WHERE job_id = ?1 AND version < ?2"
                        " ORDER BY version DESC LIMIT ?3",

    [SQ_JOB_PLAN] = "UPDATE jobs SET plan_version = ?2, kind = ?3, cron = ?4, timezone = ?5,"
                    " every_us = ?6, start_us = ?7, jitter_us = ?8, at_us = ?9, after_jobs = ?10,"
                    " after_when = ?11, concurrency = ?12, max_instances = ?13, priority = ?14,"
                    " misfire_grace_us = ?15, catch_up = ?16, max_catch_up = ?17,"
                    " retry_max_attempts = ?18, retry_backoff_us = ?19, retry_factor = ?20,"
                    " retry_max_backoff_us = ?21, retry_jitter = ?22,"
                    " disable_after_failures = ?23,"
                    " retain_runs = ?24, retain_for_us = ?25, retain_output = ?26,"
                    " retain_dead_letters = ?27"
                    " WHERE id = ?1 AND version = ?2 AND deleted_us IS NULL",
    /* the document only where the plan is not the current version's */
    [SQ_JOB_SCAN] = "SELECT j.id, j.namespace, j.name, j.version, j.paused,"
                    " j.consecutive_failures, j.last_fire_us, j.plan_version IS j.version,"
                    " j.kind, j.cron, j.timezone, j.every_us, j.start_us, j.jitter_us, j.at_us,"
                    " j.after_jobs, j.after_when, j.concurrency, j.max_instances, j.priority,"
                    " j.misfire_grace_us, j.catch_up, j.max_catch_up, j.retry_max_attempts,"
                    " j.retry_backoff_us, j.retry_factor, j.retry_max_backoff_us,"
                    " j.retry_jitter, j.disable_after_failures,"
                    " CASE WHEN j.plan_version IS j.version THEN NULL ELSE"
                    "  (SELECT doc FROM job_versions v"
                    "   WHERE v.job_id = j.id AND v.version = j.version) END,"
                    /* the version's write time: on a live job only a new
                     * version sets updated_us (job_versions.created_us is
                     * the same instant, but would cost a read of the
                     * documents' pages per job) */
                    " j.updated_us"
                    " FROM jobs j WHERE j.deleted_us IS NULL ORDER BY j.id",
    /* the current version's author is read from its row (past the
     * document, on the same page for a small one), never the document */
    [SQ_JOB_HEADS] = "SELECT j.id, j.namespace, j.name, j.version FROM jobs j"
                     " JOIN job_versions v ON v.job_id = j.id AND v.version = j.version"
                     " WHERE j.deleted_us IS NULL AND (?1 IS NULL OR v.author IS ?1)"
                     " ORDER BY j.id",
    [SQ_JOB_DOC] = "SELECT doc FROM job_versions WHERE job_id = ?1 AND version = ?2",

    [SQ_RUN_INSERT] = "INSERT INTO runs (job_id, job_version, fire_us, reason, attempt, state,"
                      " queued_us, started_us, finished_us, pid, holder_pid, exit_code, signal,"
                      " cpu_user_ms, cpu_sys_ms, max_rss_kb, output_bytes, error, node,"
                      " triggered_by)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                      " ?15, ?16, ?17, ?18, ?19, ?20)"
                      " ON CONFLICT (job_id, fire_us, attempt) DO NOTHING RETURNING id",
    [SQ_RUN_EXISTING] = "SELECT id FROM runs WHERE job_id = ?1 AND fire_us = ?2 AND attempt = ?3",
    [SQ_JOB_LAST_FIRE] = "UPDATE jobs SET last_fire_us = ?2"
                         " WHERE id = ?1 AND (last_fire_us IS NULL OR last_fire_us < ?2)",
    [SQ_RUN_UPDATE] = "UPDATE runs SET state = ?2, started_us = ?3, finished_us = ?4, pid = ?5,"
                      " holder_pid = ?6, exit_code = ?7, signal = ?8, cpu_user_ms = ?9,"
                      " cpu_sys_ms = ?10, max_rss_kb = ?11, output_bytes = ?12, error = ?13,"
                      " node = ?14"
                      " WHERE id = ?1 AND (?15 IS NULL OR state = ?15)",
    [SQ_RUN_STATE_OF] = "SELECT state FROM runs WHERE id = ?1",
    [SQ_RUN_GET] = "SELECT " RUN_COLS RUN_FROM " WHERE r.id = ?1",
    [SQ_RUN_UNFINISHED] =
        "SELECT " RUN_COLS RUN_FROM " WHERE r.state IN ('queued', 'running') ORDER BY r.id",
    [SQ_DEAD_INSERT] = "INSERT INTO dead_letters (run_id, job_id, fire_us, reason, created_us)"
                       " SELECT id, job_id, fire_us, ?2, ?3 FROM runs WHERE id = ?1"
                       " ON CONFLICT (run_id) DO NOTHING",
    [SQ_DEAD_REMOVE] = "DELETE FROM dead_letters WHERE run_id = ?1",
    /* Retention (sqlite_retain.c). Every statement walks an index from one
     * end and stops at a LIMIT, so its cost follows what it keeps or
     * deletes, never the size of the table. */
    [SQ_RETAIN_JOBS] = "SELECT id, coalesce(retain_runs, ?2), coalesce(retain_for_us, ?3),"
                       " coalesce(retain_output, ?4), coalesce(retain_dead_letters, ?5)"
                       " FROM jobs WHERE id > ?1 ORDER BY id LIMIT ?6",
    /* the newest run past the newest ?2: it and every older one go */
    [SQ_RETAIN_NTH] = "SELECT fire_us, id FROM runs WHERE job_id = ?1"
                      " ORDER BY fire_us DESC, id DESC LIMIT 1 OFFSET ?2",
    /* the newest run (not the newest of all) whose output, summed from the
     * newest run down, passes ?4; only runs newer than (?2, ?3) count */
    [SQ_RETAIN_OUTPUT] = "SELECT fire_us, id FROM (SELECT fire_us, id,"
                         " row_number() OVER w AS n,"
                         " sum(coalesce(output_bytes, 0)) OVER w AS total"
                         " FROM runs WHERE job_id = ?1 AND (fire_us, id) > (?2, ?3)"
                         " WINDOW w AS (ORDER BY fire_us DESC, id DESC"
                         "  ROWS UNBOUNDED PRECEDING))"
                         " WHERE total > ?4 AND n > 1 ORDER BY fire_us DESC, id DESC LIMIT 1",
    /* oldest first: up to (?2, ?3) by count or output, before ?4 by age,
     * a failure only once it ended before ?5 (its dead letter may still
     * be on its way), never past ?6; at most ?7 */
    [SQ_RETAIN_DELETE] = "DELETE FROM runs WHERE id IN (SELECT id FROM runs r"
                         " WHERE job_id = ?1 AND fire_us <= ?6"
                         " AND ((fire_us, id) <= (?2, ?3) OR fire_us < ?4)"
                         " AND state NOT IN ('queued', 'running')"
                         " AND (state IN ('succeeded', 'cancelled', 'skipped', 'missed')"
                         "  OR coalesce(finished_us, queued_us) < ?5)"
                         " AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.run_id = r.id)"
                         " ORDER BY fire_us, id LIMIT ?7) RETURNING id",
    [SQ_RETAIN_DEAD_NTH] = "SELECT run_id FROM dead_letters WHERE job_id = ?1"
                           " ORDER BY run_id DESC LIMIT 1 OFFSET ?2",
    [SQ_RETAIN_DEAD_DELETE] = "DELETE FROM dead_letters WHERE run_id IN (SELECT run_id"
                              " FROM dead_letters WHERE job_id = ?1"
                              " AND (run_id <= ?2 OR fire_us < ?3)"
                              " ORDER BY run_id LIMIT ?4)",
    /* audit ids are dense (rows go only oldest first), so "past the newest
     * ?2" is "at most max(id) - ?2"; each side walks its own index */
    [SQ_AUDIT_PRUNE_BATCH] = "DELETE FROM audit WHERE id IN (SELECT id FROM ("
                             " SELECT id FROM audit WHERE at_us < ?1 ORDER BY at_us LIMIT ?3)"
                             " UNION SELECT id FROM (SELECT id FROM audit"
                             "  WHERE ?2 > 0 AND id <= (SELECT max(id) FROM audit) - ?2"
                             "  ORDER BY id LIMIT ?3) LIMIT ?3)",

    [SQ_TOKEN_INSERT] = "INSERT INTO tokens (key, name, role, namespaces, hash, created_us,"
                        " created_by, expires_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                        " RETURNING id",
    [SQ_TOKEN_LIVE] = "SELECT id FROM tokens WHERE name = ?1 AND revoked_us IS NULL",
    [SQ_TOKEN_REVOKE] = "UPDATE tokens SET revoked_us = ?2 WHERE id = ?1",
    [SQ_NS_USER_GET] = "SELECT uid FROM ns_users WHERE namespace = ?1",
    [SQ_NS_USER_TAKEN] = "SELECT uid FROM ns_users WHERE uid BETWEEN ?1 AND ?2 ORDER BY uid",
    [SQ_NS_USER_PUT] = "INSERT INTO ns_users (namespace, uid) VALUES (?1, ?2)"
                       " ON CONFLICT (namespace) DO UPDATE SET uid = excluded.uid",
    [SQ_TOKEN_GET] = "SELECT " TOKEN_COLS " FROM tokens WHERE key = ?1",
    [SQ_TOKEN_LIST] = "SELECT " TOKEN_COLS " FROM tokens WHERE id > ?1"
                      " AND (?2 OR revoked_us IS NULL) ORDER BY id LIMIT ?3",
    [SQ_TOKEN_COUNT] = "SELECT count(*) FROM tokens",
    [SQ_AUDIT_INSERT] = "INSERT INTO audit (at_us, token, address, method, route, target,"
                        " namespace, job, run_id, version_before, version_after, status)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                        " RETURNING id",
    [SQ_AUDIT_PRUNE] = "DELETE FROM audit WHERE at_us < ?1 OR (?2 > 0 AND"
                       " id <= (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?2))",

    /* one row per channel the document lists for the event; the path is
     * '$.notify.on_<event>' (event names are checked by the table) */
    [SQ_OUTBOX_ADD] = "INSERT INTO outbox (delivery_id, event_key, job_id, run_id, event,"
                      " channel, payload, state, attempts, created_us, due_us, updated_us)"
                      " SELECT lower(hex(randomblob(16))), ?4, j.id, ?5, ?6, c.value, ?7,"
                      " 'pending', 0, ?8, ?8, ?8"
                      " FROM jobs j JOIN job_versions v ON v.job_id = j.id"
                      "  AND v.version = coalesce(?3, j.version),"
                      " json_each(v.doc, '$.notify.on_' || ?6) c"
                      " WHERE j.namespace = ?1 AND j.name = ?2 AND c.type = 'text'"
                      " ON CONFLICT (event_key, channel) DO NOTHING RETURNING id",
    /* a daemon event: no job, one row per channel of the JSON array ?9 */
    [SQ_OUTBOX_ADD_DAEMON] = "INSERT INTO outbox (delivery_id, event_key, job_id, run_id,"
                             " event, channel, payload, state, attempts, created_us, due_us,"
                             " updated_us)"
                             " SELECT lower(hex(randomblob(16))), ?4, NULL, NULL, ?6, c.value,"
                             " ?7, 'pending', 0, ?8, ?8, ?8"
                             " FROM json_each(?9) c WHERE c.type = 'text'"
                             " ON CONFLICT (event_key, channel) DO NOTHING RETURNING id",
    [SQ_OUTBOX_CLAIM] = "UPDATE outbox SET state = 'delivering', attempts = attempts + 1,"
                        " due_us = ?1 + ?2, updated_us = ?1"
                        " WHERE id = (SELECT id FROM outbox"
                        "  WHERE state IN ('pending', 'delivering') AND due_us <= ?1"
                        "  ORDER BY due_us, id LIMIT 1) RETURNING id",
    [SQ_OUTBOX_DONE] = "UPDATE outbox SET state = ?3, due_us = ?4, last_status = ?5,"
                       " last_error = ?6, updated_us = ?7,"
                       " delivered_us = CASE WHEN ?3 = 'delivered' THEN ?7 END"
                       " WHERE id = ?1 AND attempts = ?2 AND state = 'delivering'",
    [SQ_OUTBOX_REQUEUE_ONE] = "UPDATE outbox SET state = 'pending', attempts = 0, due_us = ?2,"
                              " updated_us = ?2 WHERE id = ?1 AND state = 'failed'",
    [SQ_OUTBOX_REQUEUE_ALL] = "UPDATE outbox SET state = 'pending', due_us = ?2, updated_us = ?2"
                              " WHERE state = 'delivering'",
    [SQ_OUTBOX_STATE_OF] = "SELECT state FROM outbox WHERE id = ?1",
    [SQ_OUTBOX_PRUNE] = "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
                        " WHERE state IN ('delivered', 'failed') AND created_us < ?1"
                        " ORDER BY id LIMIT ?2)",
    [SQ_OUTBOX_GET] = "SELECT " OUTBOX_COLS OUTBOX_FROM " WHERE o.id = ?1",
    [SQ_OUTBOX_NEXT_DUE] = "SELECT min(due_us) FROM outbox"
                           " WHERE state IN ('pending', 'delivering')",
};

/* A run that ran, or runs: one the policy did not skip or the daemon miss. */
#define RUN_RAN " AND r.state NOT IN ('skipped', 'missed')"

/* Filtered lists: the statement BASE + mask is HEAD, then the fragment of
 * every bit set in the mask, then TAIL. Parameters keep their numbers in
 * every variant, so one binding code serves all. */
static const struct {
    int base;
    int n; /* variants: 1 << fragments */
    const char *head;
    const char *frag[4];
    const char *tail;
} variants[] = {
    {SQ_JOB_LIST,
     4,
     "SELECT " JOB_COLS JOB_FROM " AND v.version = j.version"
     " WHERE j.deleted_us IS NULL AND (j.namespace, j.name) > (?1, ?2)" NS_IN("?7"),
     {" AND j.namespace = ?3", " AND EXISTS (SELECT 1 FROM job_labels l"
                               " WHERE l.job_id = j.id AND l.key = ?4 AND l.value = ?5)"},
     " ORDER BY j.namespace, j.name LIMIT ?6"},
    {SQ_JOB_COUNT,
     4,
     "SELECT count(*) FROM jobs j WHERE j.deleted_us IS NULL" NS_IN("?7"),
     {" AND j.namespace = ?3", " AND EXISTS (SELECT 1 FROM job_labels l"
                               " WHERE l.job_id = j.id AND l.key = ?4 AND l.value = ?5)"},
     ""},
    {SQ_RUN_LIST,
     16,
     "SELECT " RUN_COLS RUN_FROM
     " WHERE (r.fire_us, r.id) < (?1, ?2) AND r.fire_us >= ?3 AND r.fire_us < ?4" NS_IN("?9"),
     {" AND r.job_id = ?5", " AND j.namespace = ?6", " AND r.state = ?7", RUN_RAN},
     " ORDER BY r.fire_us DESC, r.id DESC LIMIT ?8"},
    {SQ_RUN_COUNT,
     16,
     "SELECT count(*)" RUN_FROM " WHERE r.fire_us >= ?3 AND r.fire_us < ?4" NS_IN("?9"),
     {" AND r.job_id = ?5", " AND j.namespace = ?6", " AND r.state = ?7", RUN_RAN},
     ""},
    {SQ_DEAD_LIST,
     4,
     "SELECT d.run_id, d.job_id, j.namespace, j.name, d.fire_us, d.reason,"
     " d.created_us FROM dead_letters d JOIN jobs j ON j.id = d.job_id"
     " WHERE d.run_id < ?1" NS_IN("?5"),
     {" AND d.job_id = ?2", " AND j.namespace = ?3"},
     " ORDER BY d.run_id DESC LIMIT ?4"},
    {SQ_AUDIT_LIST,
     4,
     "SELECT " AUDIT_COLS " FROM audit WHERE id < ?1 AND at_us >= ?3 AND at_us < ?4" AUDIT_NS_IN,
     {" AND namespace = ?5 AND job = ?6", " AND token = ?7"},
     " ORDER BY id DESC LIMIT ?8"},
    {SQ_AUDIT_COUNT,
     4,
     "SELECT count(*) FROM audit WHERE at_us >= ?3 AND at_us < ?4" AUDIT_NS_IN,
     {" AND namespace = ?5 AND job = ?6", " AND token = ?7"},
     ""},
    {SQ_OUTBOX_LIST,
     8,
     "SELECT " OUTBOX_COLS OUTBOX_FROM " WHERE o.id < ?1" OUTBOX_NS_IN,
     {" AND o.job_id = ?5", " AND o.state = ?6", " AND o.channel = ?7"},
     " ORDER BY o.id DESC LIMIT ?8"},
    {SQ_OUTBOX_COUNT,
     8,
     "SELECT count(*)" OUTBOX_FROM " WHERE 1" OUTBOX_NS_IN,
     {" AND o.job_id = ?5", " AND o.state = ?6", " AND o.channel = ?7"},
     ""},
};

const char *sqlite_sql(int id, char *buf, size_t len)
{
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        int mask = id - variants[v].base;
        size_t o;

        if (mask < 0 || mask >= variants[v].n)
            continue;
        o = (size_t)snprintf(buf, len, "%s", variants[v].head);
        for (int bit = 0; bit < 4; bit++)
            if (o < len && (mask & 1 << bit))
                o += (size_t)snprintf(buf + o, len - o, "%s", variants[v].frag[bit]);
        if (o < len)
            o += (size_t)snprintf(buf + o, len - o, "%s", variants[v].tail);
        return o < len ? buf : NULL;
    }
    return id >= 0 && id < SQ_COUNT ? sql[id] : NULL;
}
