/* spec.h: a struct exec_spec checked, and as JSON on its way from the
 * daemon to the spawner (which has no other way to receive it). */
#ifndef CHIME_EXEC_SPEC_H
#define CHIME_EXEC_SPEC_H

struct err;
struct exec_spec;
typedef struct json_t json_t;

/* Checks what can be checked without touching the file system; errors name
 * the field ("workdir", "env"). */
int exec_spec_check(const struct exec_spec *s, struct err *err);
/* S as JSON; a new reference the caller releases. NULL: no memory. */
json_t *exec_spec_to_json(const struct exec_spec *s);
/* An owned copy of the spec in J, checked; release it with exec_spec_free(). */
int exec_spec_from_json(const json_t *j, struct exec_spec **ret, struct err *err);
/* Frees a spec made by exec_spec_from_json() (and nothing else). */
void exec_spec_free(struct exec_spec *s);

#endif
