/* bundle_fuzz.c: libFuzzer target for the backup archive reader
 * (bundle_read). Any bytes, as a file, read with extraction into a fresh
 * directory: refused with a message that says why, or accepted; never a
 * crash, and nothing written outside that directory (what it holds is
 * removed by bundle_remove, which leaves the directory only if something
 * else is in it: that is an abort). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/bundle.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char file[] = "/tmp/chime-bundle-fuzz-XXXXXX", dir[] = "/tmp/chime-bundle-dir-XXXXXX";
    struct bundle_info info;
    struct err err = {0};
    struct stat sb;
    int fd, rc;

    if (size > (4 << 20))
        return 0;
    fd = mkstemp(file);
    if (fd < 0 || !mkdtemp(dir))
        abort();
    if (write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    rc = bundle_read(file, dir, &info, &err);
    if (rc < 0 && !err.msg[0])
        abort(); /* a refused archive always says why */
    unlink(file);
    bundle_remove(dir);
    if (stat(dir, &sb) == 0)
        abort(); /* it wrote a name bundle_remove does not know */
    return 0;
}
