/* table.h: aligned columns for people.
 *
 * A table is a header row and the rows added to it; table_print() pads
 * every column but the last to its widest cell (counting UTF-8 characters,
 * not bytes) with two spaces between columns and no trailing blanks.
 * Cells are copied; control characters in them print as '?', so a value
 * from the daemon cannot break a row or drive the terminal; an empty or
 * NULL cell prints as "-". The caller owns the table (table_free()). */
#ifndef CHIME_CLI_TABLE_H
#define CHIME_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct err;
struct table;

#define TABLE_COLS_MAX 16

struct table_col {
    const char *name;       /* the header */
    bool right;             /* right-aligned (numbers) */
};

/* COLS (borrowed; it must outlive the table) has NCOLS entries. */
int table_new(const struct table_col *cols, size_t ncols, struct table **ret, struct err *err);
/* Adds a row of NCOLS cells (borrowed, copied). */
int table_add(struct table *t, const char *const *cells, struct err *err);
/* Rows added so far. */
size_t table_rows(const struct table *t);
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

#endif
