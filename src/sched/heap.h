/* heap.h: a binary min-heap of pointers that tells each item where it is.
 *
 * The engine keeps its timers (next fires, retry delays) and its run queue
 * (priority, then instant) in heaps. Items can be removed or re-keyed in
 * O(log n) because the heap reports every move through POS, a callback
 * that stores the item's index in the item itself (HEAP_NONE: not in the
 * heap). The heap borrows its items. */
#ifndef CHIME_HEAP_H
#define CHIME_HEAP_H

#include <stdbool.h>
#include <stddef.h>

#define HEAP_NONE ((size_t)-1)

struct heap {
    void **v;
    size_t n, cap;
    bool (*less)(const void *a, const void *b);
    size_t *(*pos)(void *item);     /* where the item keeps its index */
};

void heap_init(struct heap *h, bool (*less)(const void *, const void *),
               size_t *(*pos)(void *));
void heap_release(struct heap *h);
int heap_push(struct heap *h, void *item);     /* -CHIME_ENOMEM on failure */
void *heap_peek(const struct heap *h);         /* NULL when empty */
void *heap_pop(struct heap *h);
void heap_remove(struct heap *h, void *item);  /* an item not in the heap: no-op */
void heap_update(struct heap *h, void *item);  /* after its key changed */

#endif
