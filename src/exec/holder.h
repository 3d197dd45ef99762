/* holder.h: the process that holds one run from start to exit record.
 *
 * A holder is forked (twice, so init adopts it) by the spawner for each
 * run. It creates the run directory, starts the job in a session of its
 * own, copies the job's stdout and stderr into the output file, enforces
 * the timeout, answers "status" and "cancel" on holder.sock, and when the
 * job and everything it left behind are gone, writes exit.json and exits.
 * It depends on no daemon: kill the daemon and the spawner, and the run
 * still ends with its record. docs/exec.md has the whole picture. */
#ifndef CHIME_EXEC_HOLDER_H
#define CHIME_EXEC_HOLDER_H

#include <stdint.h>

#include "exec.h"

#define EXEC_HOLDER_SOCK "holder.sock" /* in the run directory */
#define EXEC_OUTPUT_FILE "output"      /* in the run directory */

/* What a holder tells the spawner once it has started the job, or failed
 * to; one write() on a pipe, so it arrives whole or not at all. */
struct exec_holder_report {
    int32_t ok; /* 1: the job was forked */
    int32_t holder_pid;
    int32_t job_pid;
    int64_t started_us;         /* CLOCK_REALTIME */
    char error[EXEC_ERROR_MAX]; /* when not ok */
};

/* Runs the holder for SPEC (borrowed for the process's life) in the calling,
 * freshly forked process: CGROUP_PARENT is a resolved cgroup v2 directory or
 * "" for none, REPORT_FD the pipe for the exec_holder_report. Every other
 * fd above 2 is closed. Never returns. */
void exec_holder_main(const struct exec_spec *spec, const char *cgroup_parent, int report_fd)
    __attribute__((noreturn));

#endif
