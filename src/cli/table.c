/* table.c: rows kept as copied strings, widths measured at print time. */
#include "cli/table.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "../banned.h"

struct table {
    const struct table_col *cols;
    size_t ncols;
    char **cells;           /* nrows * ncols, row-major */
    size_t nrows, cap;      /* cap: rows the cells array has room for */
};

int table_new(const struct table_col *cols, size_t ncols, struct table **ret, struct err *err)
{
    struct table *t;

    if (ncols == 0 || ncols > TABLE_COLS_MAX)
        return err_set(err, CHIME_ERANGE, "", "a table has 1 to %d columns", TABLE_COLS_MAX);
    if (!(t = calloc(1, sizeof *t)))
        return err_set(err, CHIME_ENOMEM, "", "out of memory for a table");
    t->cols = cols;
    t->ncols = ncols;
    *ret = t;
    return 0;
}

void table_free(struct table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

size_t table_rows(const struct table *t)
{
    return t->nrows;
}

/* A printable copy: control bytes (C0, DEL) become '?'; "-" for nothing. */
static char *cell_copy(const char *s)
{
    char *c;

    if (!s || !*s)
        s = "-";
    if (!(c = strdup(s)))
        return NULL;
    for (char *p = c; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return c;
}

int table_add(struct table *t, const char *const *cells, struct err *err)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **p = realloc(t->cells, cap * t->ncols * sizeof *p);

        if (!p)
            return err_set(err, CHIME_ENOMEM, "", "out of memory for a table");
        t->cells = p;
        t->cap = cap;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        char *c = cell_copy(cells[i]);

        if (!c) {
            while (i-- > 0)
                free(t->cells[t->nrows * t->ncols + i]);
            return err_set(err, CHIME_ENOMEM, "", "out of memory for a table");
        }
        t->cells[t->nrows * t->ncols + i] = c;
    }
    t->nrows++;
    return 0;
}

/* Characters on screen: UTF-8 continuation bytes take no column. */
static size_t width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

static void print_row(const struct table *t, const char *const *row, const size_t *w, FILE *f)
{
    for (size_t i = 0; i < t->ncols; i++) {
        size_t pad = w[i] - width(row[i]);
        bool last = i + 1 == t->ncols;

        if (t->cols[i].right)
            fprintf(f, "%*s%s", (int)pad, "", row[i]);
        else
            fprintf(f, "%s%*s", row[i], last ? 0 : (int)pad, "");
        fputs(last ? "\n" : "  ", f);
    }
}

void table_print(const struct table *t, FILE *f)
{
    const char *head[TABLE_COLS_MAX];
    size_t w[TABLE_COLS_MAX];

    for (size_t i = 0; i < t->ncols; i++) {
        head[i] = t->cols[i].name;
        w[i] = width(head[i]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t cw = width(t->cells[r * t->ncols + i]);

            if (cw > w[i])
                w[i] = cw;
        }
    }
    print_row(t, head, w, f);
    for (size_t r = 0; r < t->nrows; r++)
        print_row(t, (const char *const *)&t->cells[r * t->ncols], w, f);
}
