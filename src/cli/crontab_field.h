/* crontab_field.h: the five time fields of a crontab line, read as cron
 * reads them and written as a chime cron expression that fires exactly
 * when cron would (crontab_field.c says how). */
#ifndef CHIME_CLI_CRONTAB_FIELD_H
#define CHIME_CLI_CRONTAB_FIELD_H

#include <stddef.h>

struct err;

#define CRONTAB_FIELDS 5    /* minute hour day-of-month month day-of-week */

/* Reads the fields F (FLEN bytes each, no blanks, borrowed) and writes the
 * expression chime is to get into EXPR (EXPR_LEN bytes): the fields as
 * written when chime reads them as cron does, else as lists of values.
 * LINE (LINE_LEN bytes, the whole line) seeds the value a '~' picks, so
 * that the same line always picks the same; PICKS (PICKS_LEN bytes) tells
 * of each pick ("minute '6~15' picked 11") and gives the expression's
 * warnings (cron_warnings(): "warning: step 30 exceeds ..."), "" when
 * none. Errors name the field and quote it; a schedule that never fires
 * is CHIME_ENEVER. */
int crontab_field_schedule(const char *const f[CRONTAB_FIELDS],
                           const size_t flen[CRONTAB_FIELDS], const char *line, size_t line_len,
                           char *expr, size_t expr_len, char *picks, size_t picks_len,
                           struct err *err);

#endif
