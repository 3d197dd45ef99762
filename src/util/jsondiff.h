/* jsondiff.h: the differences between two JSON documents, field by field,
 * as `chime job diff` and the API's version diff show them.
 *
 * Objects are compared member by member, recursively, in key order; every
 * other value, arrays included, is compared whole. Arrays are whole values
 * on purpose: a job document's arrays are argv lists and job names, where
 * an inserted element would make an index-by-index diff report every
 * element after it as changed, while one line with both arrays reads at a
 * glance. A member present on one side only is "added" or "removed"; a
 * member whose values differ (a type change included) is "changed".
 *
 * A change is a JSON object:
 *
 *     {"op": "changed", "path": "schedule.cron", "pointer": "/schedule/cron",
 *      "from": "0 * * * *", "to": "*\/5 * * * *"}
 *
 * "from" is left out of an added member and "to" of a removed one. "path"
 * is for people: keys made of letters, digits, '_' and '-' (not starting
 * with a digit or '-') joined by '.', others as ["key"] in JSON quotes
 * (labels["app.kubernetes.io/name"]); the document itself is "". "pointer"
 * is the RFC 6901 JSON pointer, for programs. Pure: no I/O, no globals. */
#ifndef CHIME_JSONDIFF_H
#define CHIME_JSONDIFF_H

#include <stddef.h>

struct err;
typedef struct json_t json_t;

/* The changes from FROM to TO (both borrowed) as a new JSON array (owned,
 * in *RET), in path order; empty when they are equal. CHIME_ENOMEM. */
int jsondiff_compute(const json_t *from, const json_t *to, json_t **ret, struct err *err);

/* CHANGE (one element of a jsondiff_compute() array, borrowed) as one
 * line without a newline, an owned string (free()):
 *
 *     ~ schedule.cron: "0 * * * *" -> "*\/5 * * * *"
 *     + env.MODE: "full"
 *     - labels.team: "sales"
 *
 * Values are compact JSON, ASCII only (anything else \u-escaped), so a
 * line never holds a control byte. NULL when out of memory or when
 * CHANGE is not a change. */
char *jsondiff_line(const json_t *change);

#endif
