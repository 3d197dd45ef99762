/* tree.h: the processes a run left behind, found through /proc.
 *
 * A holder is a child subreaper, so whatever its job forks stays its
 * descendant even when the forking parent exits or calls setsid(): walking
 * /proc for the processes whose parent chain reaches the holder finds the
 * whole tree, daemonised escapees included. The walk allocates and reads
 * /proc, so it is for the holder, never the daemon's loop. */
#ifndef CHIME_EXEC_TREE_H
#define CHIME_EXEC_TREE_H

#include <sys/types.h>

/* Sends SIG (0: none, a liveness probe) to the process group PGID (when
 * above 0) and to every descendant of ANCESTOR. Returns how many processes
 * were found: the group's members count once, as 1, because a group can
 * only be probed as a whole. */
int exec_tree_signal(pid_t ancestor, pid_t pgid, int sig);

#endif
