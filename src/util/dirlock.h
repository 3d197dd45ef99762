/* dirlock.h: one chime at a time on a data directory.
 *
 * `chime serve` holds DIR/chime.lock (flock, exclusive) for as long as it
 * runs, and `chime restore` takes it while it puts a database in place:
 * a second daemon on the same directory, or a restore under a running
 * one, is refused instead of two writers fighting over one store. The lock
 * goes with the process (a kill -9 too): nothing to clean up. The file
 * holds the holder's pid, for the message. */
#ifndef CHIME_UTIL_DIRLOCK_H
#define CHIME_UTIL_DIRLOCK_H

#include "util/err.h"

/* Takes DIR's lock. Returns its fd (close it to let go; it is close-on-exec),
 * -CHIME_ECONFLICT when another process holds it (ERR names its pid), or
 * -CHIME_EIO. */
int dirlock_take(const char *dir, struct err *err);

#endif
