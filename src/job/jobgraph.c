/* jobgraph.c: a set of jobs' `after` edges, checked whole (jobgraph.h).
 *
 * Jobs are an array of nodes found through an open-addressing hash of
 * their ids. A removed job stays in the array, marked gone, so indexes
 * never move; setting it again revives it. Edges are kept as ids and
 * resolved to nodes when a walk starts, so jobs may be set in any order.
 * Walks are depth-first with an explicit stack (white, grey, black): a
 * grey node met again closes a cycle, and the stack holds its path. */
#include "job/jobgraph.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "../banned.h"

#define NONE SIZE_MAX
#define CYCLE_TEXT_MAX 160 /* bytes of a cycle's path in its message */

struct node {
    char *id;
    char **after;
    size_t n_after;
    size_t *up; /* during a walk: after resolved to node indexes (NONE: no such job) */
    bool live;
};

struct jobgraph {
    struct node *nodes;
    size_t n, cap;
    size_t *slots; /* node index + 1; 0: empty */
    size_t n_slots;
    size_t n_live;
};

enum color { WHITE, GREY, BLACK };

struct frame {
    size_t node;
    size_t next; /* the next upstream to look at */
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The node of ID, or NONE. */
static size_t find(const struct jobgraph *g, const char *id)
{
    size_t mask = g->n_slots - 1, i;

    if (!g->n_slots)
        return NONE;
    for (i = (size_t)hash(id) & mask; g->slots[i]; i = (i + 1) & mask)
        if (!strcmp(g->nodes[g->slots[i] - 1].id, id))
            return g->slots[i] - 1;
    return NONE;
}

static int rehash(struct jobgraph *g, size_t n_slots)
{
    size_t *slots = calloc(n_slots, sizeof *slots), mask = n_slots - 1;

    if (!slots)
        return -1;
    for (size_t k = 0; k < g->n; k++) {
        size_t i = (size_t)hash(g->nodes[k].id) & mask;

        while (slots[i])
            i = (i + 1) & mask;
        slots[i] = k + 1;
    }
    free(g->slots);
    g->slots = slots;
    g->n_slots = n_slots;
    return 0;
}

int jobgraph_new(struct jobgraph **ret, struct err *err)
{
    struct jobgraph *g = calloc(1, sizeof *g);

    if (!g)
        return err_set(err, CHIME_ENOMEM, "", "out of memory for the job graph");
    *ret = g;
    return 0;
}

static void node_edges_free(struct node *nd)
{
    for (size_t i = 0; i < nd->n_after; i++)
        free(nd->after[i]);
    free(nd->after);
    nd->after = NULL;
    nd->n_after = 0;
}

void jobgraph_free(struct jobgraph *g)
{
    if (!g)
        return;
    for (size_t k = 0; k < g->n; k++) {
        node_edges_free(&g->nodes[k]);
        free(g->nodes[k].id);
        free(g->nodes[k].up);
    }
    free(g->nodes);
    free(g->slots);
    free(g);
}

int jobgraph_set(struct jobgraph *g, const char *id, const char *const *after, size_t n,
                 struct err *err)
{
    char **copy = n ? calloc(n, sizeof *copy) : NULL;
    size_t k = find(g, id), i;

    if (n && !copy)
        goto nomem;
    for (i = 0; i < n; i++)
        if (!(copy[i] = strdup(after[i])))
            goto nomem;
    if (k == NONE) {
        if (g->n == g->cap) {
            size_t cap = g->cap ? 2 * g->cap : 64;
            struct node *nodes = realloc(g->nodes, cap * sizeof *nodes);

            if (!nodes)
                goto nomem;
            g->nodes = nodes;
            g->cap = cap;
        }
        /* at most half full, so a probe always ends */
        if (2 * (g->n + 1) > g->n_slots && rehash(g, g->n_slots ? 2 * g->n_slots : 128) < 0)
            goto nomem;
        k = g->n;
        g->nodes[k] = (struct node){.id = strdup(id)};
        if (!g->nodes[k].id)
            goto nomem;
        g->n++;
        {
            size_t mask = g->n_slots - 1, s = (size_t)hash(id) & mask;

            while (g->slots[s])
                s = (s + 1) & mask;
            g->slots[s] = k + 1;
        }
    }
    node_edges_free(&g->nodes[k]);
    g->nodes[k].after = copy;
    g->nodes[k].n_after = n;
    if (!g->nodes[k].live)
        g->n_live++;
    g->nodes[k].live = true;
    return 0;
nomem:
    for (i = 0; copy && i < n; i++)
        free(copy[i]);
    free(copy);
    return err_set(err, CHIME_ENOMEM, "", "out of memory for the job graph");
}

void jobgraph_remove(struct jobgraph *g, const char *id)
{
    size_t k = find(g, id);

    if (k == NONE || !g->nodes[k].live)
        return;
    node_edges_free(&g->nodes[k]);
    g->nodes[k].live = false;
    g->n_live--;
}

bool jobgraph_has(const struct jobgraph *g, const char *id)
{
    size_t k = find(g, id);

    return k != NONE && g->nodes[k].live;
}

bool jobgraph_known(const struct jobgraph *g, const char *id)
{
    return find(g, id) != NONE;
}

size_t jobgraph_size(const struct jobgraph *g)
{
    return g->n_live;
}

/* Resolves every live node's upstreams to node indexes. */
static int resolve(const struct jobgraph *g)
{
    for (size_t k = 0; k < g->n; k++) {
        struct node *nd = &g->nodes[k];

        free(nd->up);
        nd->up = NULL;
        if (!nd->live || !nd->n_after)
            continue;
        nd->up = malloc(nd->n_after * sizeof *nd->up);
        if (!nd->up)
            return -1;
        for (size_t i = 0; i < nd->n_after; i++) {
            size_t u = find(g, nd->after[i]);

            nd->up[i] = u != NONE && g->nodes[u].live ? u : NONE;
        }
    }
    return 0;
}

/* Depth-first from ROOT over live nodes. With EMIT, every node is
 * appended to EMIT once all its upstreams are (post-order). Returns the
 * node that closes a cycle (the grey one met again), with the path from
 * it on the stack STACK[*RET_DEPTH...], or NONE. */
static size_t walk(const struct jobgraph *g, size_t root, unsigned char *color,
                   struct frame *stack, size_t *ret_depth, size_t *emit, size_t *n_emit)
{
    size_t depth = 0;

    if (color[root] != WHITE)
        return NONE;
    color[root] = GREY;
    stack[depth++] = (struct frame){root, 0};
    while (depth) {
        struct frame *f = &stack[depth - 1];
        const struct node *nd = &g->nodes[f->node];

        if (f->next < nd->n_after) {
            size_t u = nd->up[f->next++];

            if (u == NONE || color[u] == BLACK)
                continue;
            if (color[u] == GREY) {
                *ret_depth = depth;
                return u;
            }
            color[u] = GREY;
            stack[depth++] = (struct frame){u, 0};
            continue;
        }
        color[f->node] = BLACK;
        if (emit)
            emit[(*n_emit)++] = f->node;
        depth--;
    }
    return NONE;
}

int jobgraph_check(const struct jobgraph *g, const char *const *starts, size_t n, char *cycle_at,
                   size_t len, struct err *err)
{
    unsigned char *color = calloc(g->n ? g->n : 1, 1);
    struct frame *stack = malloc((g->n ? g->n : 1) * sizeof *stack);
    bool *start = calloc(g->n ? g->n : 1, sizeof *start);
    size_t depth = 0, closer = NONE;
    int rc = 0;

    if (!color || !stack || !start || resolve(g) < 0) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory checking dependencies");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = find(g, starts[i]);

        if (k != NONE)
            start[k] = true;
    }
    for (size_t i = 0; closer == NONE && i < n + g->n; i++) {
        size_t k = i < n ? find(g, starts[i]) : i - n;

        if (k != NONE && g->nodes[k].live)
            closer = walk(g, k, color, stack, &depth, NULL, NULL);
    }
    if (closer != NONE) {
        char msg[CYCLE_TEXT_MAX + 140];
        size_t used = 0, from = 0, at, cycle_len;

        /* the cycle is the stack from CLOSER's frame on; it is told from
         * its first job among STARTS (the one being saved), round to it */
        while (stack[from].node != closer)
            from++;
        cycle_len = depth - from;
        at = 0;
        while (at < cycle_len && !start[stack[from + at].node])
            at++;
        if (at == cycle_len)
            at = 0;
        msg[0] = '\0';
        for (size_t d = 0; d <= cycle_len; d++) {
            const char *id = g->nodes[stack[from + (at + d) % cycle_len].node].id;

            if (used + strlen(id) + 4 > CYCLE_TEXT_MAX && d < cycle_len) {
                snprintf(msg + used, sizeof msg - used, " -> ... (%zu jobs)", cycle_len);
                break;
            }
            used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s", d ? " -> " : "", id);
        }
        if (cycle_at && len)
            snprintf(cycle_at, len, "%s", g->nodes[stack[from + at].node].id);
        rc = err_set(err, CHIME_EINVAL, "schedule.after", "dependency cycle: %s", msg);
    }
done:
    free(color);
    free(stack);
    free(start);
    return rc;
}

int jobgraph_order(const struct jobgraph *g, const char *const *ids, size_t n, size_t *order,
                   struct err *err)
{
    size_t cap = g->n ? g->n : 1;
    unsigned char *color = calloc(cap, 1);
    struct frame *stack = malloc(cap * sizeof *stack);
    size_t *emit = malloc(cap * sizeof *emit), *pos = malloc(cap * sizeof *pos);
    size_t n_order = 0, depth;
    int rc = 0;

    if (!color || !stack || !emit || !pos || resolve(g) < 0) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory ordering jobs");
        goto done;
    }
    for (size_t k = 0; k < g->n; k++)
        pos[k] = NONE;
    for (size_t i = 0; i < n; i++) {
        size_t k = find(g, ids[i]);

        if (k != NONE && g->nodes[k].live && pos[k] == NONE)
            pos[k] = i;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = find(g, ids[i]), n_emit = 0;

        if (k == NONE || !g->nodes[k].live || pos[k] != i) {
            order[n_order++] = i; /* not in the graph (or listed again): its own turn */
            continue;
        }
        if (walk(g, k, color, stack, &depth, emit, &n_emit) != NONE) {
            rc = err_set(err, CHIME_EINVAL, "schedule.after", "the jobs have a dependency cycle");
            goto done;
        }
        for (size_t e = 0; e < n_emit; e++)
            if (pos[emit[e]] != NONE)
                order[n_order++] = pos[emit[e]];
    }
done:
    free(color);
    free(stack);
    free(emit);
    free(pos);
    return rc;
}
