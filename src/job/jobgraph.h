/* jobgraph.h: the `after` dependencies of a whole set of jobs, checked at
 * once. Every save of job versions (jobsave.h: the API, an import, the
 * jobs directory) adds the jobs the store has, lays the saved documents
 * over them, drops the removed ones, and asks whether the result has a
 * cycle and in which order to hand the jobs to the engine. It is the one
 * cycle check chime has.
 *
 * A job is its id ("namespace/name") and its upstreams (the ids of its
 * `after` list). An upstream that is not a job of the graph is allowed (a
 * job may wait for one that does not exist yet) and ends a path. A check
 * finds every cycle, however long, in time linear in the jobs and edges:
 * the walk is iterative, so a chain of 100,000 jobs needs no deep C stack.
 *
 * Not thread-safe; the caller owns a graph and frees it with
 * jobgraph_free(). Ids and upstream lists are copied. */
#ifndef CHIME_JOBGRAPH_H
#define CHIME_JOBGRAPH_H

#include <stdbool.h>
#include <stddef.h>

struct err;
struct jobgraph;

int jobgraph_new(struct jobgraph **ret, struct err *err);
void jobgraph_free(struct jobgraph *g);

/* Job ID, with the N upstreams of AFTER (N may be 0): added, or its
 * upstreams replaced. CHIME_ENOMEM. */
int jobgraph_set(struct jobgraph *g, const char *id, const char *const *after, size_t n,
                 struct err *err);
/* Drops job ID (nothing when there is none): its upstreams go, and jobs
 * that wait for it then wait for a job that does not exist. */
void jobgraph_remove(struct jobgraph *g, const char *id);
bool jobgraph_has(const struct jobgraph *g, const char *id);
/* Whether ID was ever set, removed since or not. */
bool jobgraph_known(const struct jobgraph *g, const char *id);
/* How many jobs the graph has. */
size_t jobgraph_size(const struct jobgraph *g);

/* Whether the graph has a cycle. The walk starts from the N jobs of
 * STARTS first (those not in the graph are skipped), then from every
 * other job, so a cycle reachable from STARTS is the one reported. A
 * cycle is CHIME_EINVAL, field "schedule.after", "dependency cycle: a ->
 * b -> a", told from its first job that is among STARTS (else from the
 * job the walk met twice); a path too long for the message ends with
 * "-> ... (N jobs)". That first job's id is copied into CYCLE_AT (LEN
 * bytes; may be NULL). CHIME_ENOMEM. */
int jobgraph_check(const struct jobgraph *g, const char *const *starts, size_t n,
                   char *cycle_at, size_t len, struct err *err);

/* Orders the N jobs of IDS so that each comes after every upstream of it
 * among IDS, through any path of the graph (jobs not in IDS included):
 * ORDER (N entries) gets indexes into IDS. Ids not in the graph keep
 * their place among the others. The graph must have no cycle
 * (jobgraph_check); CHIME_ENOMEM. */
int jobgraph_order(const struct jobgraph *g, const char *const *ids, size_t n, size_t *order,
                   struct err *err);

#endif
