/* record.h: a run's exit record, what its holder leaves behind.
 *
 * The holder writes it once, when the job and everything it left behind
 * are gone, as the last chunk of the run's output file (X, see output.h),
 * then fsyncs the file and its directory; a reader takes a whole chunk
 * or none. The same JSON object is the "record" of the holder's exit
 * message. Fields are in docs/exec.md; readers ignore fields they do not
 * know. */
#ifndef CHIME_EXEC_RECORD_H
#define CHIME_EXEC_RECORD_H

#include <stddef.h>

#include "exec/output.h"

struct err;
struct exec_result;
typedef struct json_t json_t;


/* The record of R; a new reference the caller releases. NULL: no memory. */
json_t *exec_record_to_json(const struct exec_result *r);
/* Fills *RET from a record object; the outcome is worked out from the
 * fields (exec_record_outcome). */
int exec_record_from_json(const json_t *j, struct exec_result *ret, struct err *err);
/* Parses record text (at most EXEC_OUTPUT_RECORD_MAX bytes). */
int exec_record_parse(const char *text, size_t len, struct exec_result *ret, struct err *err);
/* Sets r->outcome from its fields: cancelled, then timed out, then a
 * signal, then an exit code, else failed (never started). */
void exec_record_outcome(struct exec_result *r);

#endif
