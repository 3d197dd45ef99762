/* holder.h: the process that holds one run from start to exit record.
 *
 * A holder is forked by the spawner and serves one run at a time, one run
 * after another (forking a process per run costs more than the rest of
 * the run's set-up). It creates the output file, starts the job in a session of its
 * own, copies the job's stdout and stderr into the output file, enforces
 * the timeout, answers "status" and "cancel" on its socket, and when the
 * job and everything it left behind are gone, writes the exit record and
 * is free for the next run.
 * It depends on no daemon: kill the daemon and the spawner, and the run
 * still ends with its record. docs/exec.md has the whole picture. */
#ifndef CHIME_EXEC_HOLDER_H
#define CHIME_EXEC_HOLDER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "exec/exec.h"


/* The abstract socket address a holder listens on for the run whose output
 * file has the stat OUTPUT; returns the address length. */
socklen_t exec_holder_addr(const struct stat *output, struct sockaddr_un *sa);
/* Whether the peer of the connected socket FD is our user or root. */
bool exec_holder_peer_ok(int fd);

/* What a holder tells the spawner once it has started the job, or failed
 * to; one message on its SOCK_SEQPACKET channel, so it arrives whole or
 * not at all. After the run the holder sends "F" (free), followed by the
 * run's exit record (JSON) when it has one: the spawner passes that on to
 * the daemon. */
struct exec_holder_report {
    uint64_t tag; /* the request's */
    int32_t ok;   /* 1: the job was forked */
    int32_t holder_pid;
    int32_t job_pid;
    int64_t started_us;         /* CLOCK_REALTIME */
    char error[EXEC_ERROR_MAX]; /* when not ok */
};

/* Runs a holder in the calling, freshly forked process: CGROUP_PARENT is a
 * resolved cgroup v2 directory or "" for none, CHAN its end of a
 * SOCK_SEQPACKET channel to the spawner; every other fd above 2 is closed.
 * It takes one request at a time from CHAN (the spawner's tag, 8 bytes,
 * then the spec as JSON), answers with an exec_holder_report, holds the
 * run to its exit record, says "F" with the record, and waits for the next; it exits when
 * CHAN closes. Never returns. */
void exec_holder_main(const char *cgroup_parent, int chan) __attribute__((noreturn));

#endif
