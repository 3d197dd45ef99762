/* heap.c: binary min-heap with index tracking (see heap.h). */
#include "sched/heap.h"

#include <stdlib.h>

#include "util/err.h"
#include "../banned.h"

void heap_init(struct heap *h, bool (*less)(const void *, const void *),
               size_t *(*pos)(void *))
{
    h->v = NULL;
    h->n = h->cap = 0;
    h->less = less;
    h->pos = pos;
}

void heap_release(struct heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        *h->pos(h->v[i]) = HEAP_NONE;
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

static void place(struct heap *h, size_t i, void *item)
{
    h->v[i] = item;
    *h->pos(item) = i;
}

static void sift_up(struct heap *h, size_t i)
{
    void *item = h->v[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (!h->less(item, h->v[parent]))
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, item);
}

static void sift_down(struct heap *h, size_t i)
{
    void *item = h->v[i];

    for (;;) {
        size_t child = 2 * i + 1;

        if (child >= h->n)
            break;
        if (child + 1 < h->n && h->less(h->v[child + 1], h->v[child]))
            child++;
        if (!h->less(h->v[child], item))
            break;
        place(h, i, h->v[child]);
        i = child;
    }
    place(h, i, item);
}

int heap_push(struct heap *h, void *item)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        void **v = realloc(h->v, cap * sizeof *v);

        if (!v)
            return -CHIME_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n] = item;
    sift_up(h, h->n++);
    return 0;
}

void *heap_peek(const struct heap *h)
{
    return h->n ? h->v[0] : NULL;
}

void heap_remove(struct heap *h, void *item)
{
    size_t i = *h->pos(item);

    if (i == HEAP_NONE || i >= h->n || h->v[i] != item)
        return;
    *h->pos(item) = HEAP_NONE;
    if (--h->n == i)
        return;
    h->v[i] = h->v[h->n];
    *h->pos(h->v[i]) = i;
    heap_update(h, h->v[i]);
}

void *heap_pop(struct heap *h)
{
    void *top = heap_peek(h);

    if (top)
        heap_remove(h, top);
    return top;
}

void heap_update(struct heap *h, void *item)
{
    size_t i = *h->pos(item);

    if (i == HEAP_NONE || i >= h->n)
        return;
    if (i > 0 && h->less(item, h->v[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}
