/* next.c: `chime next EXPR [--tz ZONE] [--from ISO8601] [--count N]`,
 * the time engine on the command line: the next N fires of a cron
 * expression, one ISO 8601 instant with its offset per line. */
#include "cli/cli.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cmdline.h"
#include "time/cron.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/err.h"
#include "../banned.h"

#define NEXT_MAX_COUNT 100000

struct next_opts {
    const char *zone, *from;
    long count;
};

static const struct cmdline_opt rows[] = {
    { "tz", 0, CMDLINE_STRING, offsetof(struct next_opts, zone), "ZONE",
      "IANA time zone (default: the system's)" },
    { "timezone", 0, CMDLINE_STRING, offsetof(struct next_opts, zone), "ZONE", NULL },
    { "from", 0, CMDLINE_STRING, offsetof(struct next_opts, from), "TIME",
      "print fires strictly after TIME (ISO 8601; default: now); a time without an offset is "
      "read in ZONE" },
    { "count", 0, CMDLINE_INT, offsetof(struct next_opts, count), "N",
      "how many fires (default 5, at most 100000)", 1, NEXT_MAX_COUNT },
};

static const struct cmdline_spec spec = {
    "next", "EXPR", "  EXPR  cron expression, 5 or 6 fields, or a macro (@daily, @every 15m)\n",
    rows, sizeof rows / sizeof rows[0], NULL, 0, -1, "EXPR",
};

int cli_next(int argc, char **argv)
{
    struct next_opts o = { .count = 5 };
    const struct tz *zone;
    struct err err = { 0 };
    struct cron cron;
    struct timespec now;
    int64_t t_us;
    int n = cmdline_parse(&spec, argc, argv, &o);

    /* a command line that is not one expression: the usage follows the reason */
    if (n == CMDLINE_BAD || n == 0 || n > 1) {
        if (n >= 0)
            fputs(n == 0 ? "chime next: missing EXPR\n"
                         : "chime next: more than one EXPR (quote the expression)\n", stderr);
        cmdline_usage(&spec, stderr);
        return 2;
    }
    if (n < 0)
        return cmdline_exit(n);
    if (cron_parse(argv[1], &cron, &err) < 0
        || (o.zone ? tz_load(o.zone, &zone, &err) : tz_system(&zone, &err)) < 0)
        goto invalid;
    {
        char warn[CRON_NFIELDS][CRON_WARNING_MAX];
        int nwarn = cron_warnings(argv[1], warn, CRON_NFIELDS);

        /* valid, so the fires follow; but say what the text likely did not mean */
        for (int i = 0; i < nwarn; i++)
            fprintf(stderr, "chime next: warning: %s\n", warn[i]);
    }
    if (o.from) {
        if (isotime_parse(o.from, zone, "from", &t_us, &err) < 0)
            goto invalid;
    } else {
        clock_gettime(CLOCK_REALTIME, &now);
        t_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    }
    for (long i = 0; i < o.count; i++) {
        char buf[ISOTIME_LEN];

        if (cron_next(&cron, zone, t_us, &t_us, &err) < 0) {
            /* @reboot, or no fire left before the year 10000: a fact, not an error */
            cli_error("next", &err);
            return 0;
        }
        puts(isotime_format(t_us, zone, t_us % 1000000 ? ISOTIME_MICROS : 0, buf, sizeof buf));
    }
    return fflush(stdout) == 0 ? 0 : 1;
invalid:
    cli_error("next", &err);
    return 2;
}
