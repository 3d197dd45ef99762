/* next.c: `chime next EXPR [--tz ZONE] [--from ISO8601] [--count N]`,
 * the time engine on the command line: the next N fires of a cron
 * expression, one ISO 8601 instant with its offset per line. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "time/cron.h"
#include "time/isotime.h"
#include "time/tz.h"
#include "util/err.h"
#include "../banned.h"

#define NEXT_MAX_COUNT 100000

static const char usage[] =
    "usage: chime next EXPR [--tz ZONE] [--from ISO8601] [--count N]\n"
    "  EXPR        cron expression, 5 or 6 fields, or a macro (@daily, @every 15m)\n"
    "  --tz ZONE   IANA time zone (default: the system's)\n"
    "  --from T    print fires strictly after T (default: now); a time without\n"
    "              an offset is read in ZONE\n"
    "  --count N   how many fires (default 5, at most 100000)\n";

static int parse_count(const char *s, long *ret, struct err *err)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(s, &end, 10);
    if (end == s || *end || errno || n < 1 || n > NEXT_MAX_COUNT)
        return err_set(err, CHIME_EINVAL, "count", "'%.40s' is not a whole number from 1 to %d",
                       s, NEXT_MAX_COUNT);
    *ret = n;
    return 0;
}

int cli_next(int argc, char **argv)
{
    static const struct option opts[] = {
        { "tz", required_argument, NULL, 'z' },
        { "timezone", required_argument, NULL, 'z' },
        { "from", required_argument, NULL, 'f' },
        { "count", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *zone_name = NULL, *from = NULL, *count_arg = NULL;
    const struct tz *zone;
    struct err err = { 0 };
    struct cron cron;
    struct timespec now;
    int64_t t_us;
    long count = 5;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "z:f:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'z': zone_name = optarg; break;
        case 'f': from = optarg; break;
        case 'n': count_arg = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fputs(optind == argc ? "chime next: missing EXPR\n" : "chime next: more than one EXPR"
                                                             " (quote the expression)\n",
              stderr);
        fputs(usage, stderr);
        return 2;
    }
    if (cron_parse(argv[optind], &cron, &err) < 0
        || (zone_name ? tz_load(zone_name, &zone, &err) : tz_system(&zone, &err)) < 0
        || (count_arg && parse_count(count_arg, &count, &err) < 0))
        goto invalid;
    {
        char warn[CRON_NFIELDS][CRON_WARNING_MAX];
        int nwarn = cron_warnings(argv[optind], warn, CRON_NFIELDS);

        /* valid, so the fires follow; but say what the text likely did not mean */
        for (int i = 0; i < nwarn; i++)
            fprintf(stderr, "chime next: warning: %s\n", warn[i]);
    }
    if (from) {
        if (isotime_parse(from, zone, "from", &t_us, &err) < 0)
            goto invalid;
    } else {
        clock_gettime(CLOCK_REALTIME, &now);
        t_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    }
    for (long i = 0; i < count; i++) {
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
