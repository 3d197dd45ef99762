/* sandbox.h: what a job gets when it does not run as the holder's user
 * (struct exec_identity): its own ids, no capability, no_new_privs, and
 * a mount namespace with a private /tmp and its own /proc that shows
 * only its user's processes. docs/security.md has the model. */
#ifndef CHIME_EXEC_SANDBOX_H
#define CHIME_EXEC_SANDBOX_H

#include <stddef.h>

struct exec_spec;

/* The steps exec_sandbox_enter() takes, for the child's failure report. */
enum exec_sandbox_step {
    EXEC_SANDBOX_STEP_MOUNTS, /* the mount namespace, /tmp, /proc */
    EXEC_SANDBOX_STEP_PRIVS,  /* no_new_privs, the capability sets */
    EXEC_SANDBOX_STEP_IDS,    /* setgroups, setresgid, setresuid */
};

/* At start-up, as root and before any thread: which EXEC_SANDBOX_* bits
 * this kernel allows, tried in a forked child. What it refuses is in WHY
 * (a sentence for the log; "" when everything works). */
unsigned exec_sandbox_probe(char *why, size_t len);

/* In the holder, before the fork: the highest capability this kernel
 * knows (/proc/sys/kernel/cap_last_cap). */
int exec_sandbox_cap_last(void);

/* In the forked child of the holder, as root, after everything that still
 * needs root: enters the sandbox of S (S->user.uid > 0) and becomes its
 * user. System calls only. Returns 0, or -errno with *RET_STEP. */
int exec_sandbox_enter(const struct exec_spec *s, int cap_last, int *ret_step);

#endif
