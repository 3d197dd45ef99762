/* isotime_fuzz.c: arbitrary text into isotime_parse, read in UTC and in
 * zones with daylight saving (New York's hour, Lord Howe's half hour).
 *
 * The parser may not crash, read past the NUL or invoke undefined
 * behaviour; a failure must come with its code and a message; a success
 * must format and parse back to the same instant, in the zone it was read
 * in and in UTC (abort() otherwise, so libFuzzer keeps the input). One
 * exception: the range 0001-9999 bounds the written date, so an instant
 * at its edge can format with a year outside it ("0001-01-01T00:00+05:00"
 * is 0000-12-31 in UTC), and that text must then be refused as out of
 * range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "time/isotime.h"
#include "time/tz.h"
#include "util/err.h"
#include "../src/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const zone_names[] = {
    "UTC", "America/New_York", "Australia/Lord_Howe",
};
#define N_ZONES (sizeof zone_names / sizeof zone_names[0])

static const struct tz *zones[N_ZONES];

static void load_zones(void)
{
    size_t i;

    for (i = 0; i < N_ZONES; i++)
        if (!zones[i] && tz_load(zone_names[i], &zones[i], NULL) != 0)
            abort();
}

/* Whether TEXT's year lies outside 0001-9999. */
static int year_out_of_range(const char *text)
{
    return strncmp(text, "0000-", 5) == 0 || text[0] == '-' || text[4] != '-';
}

static void check_reads_back(const char *text, const struct tz *z, int64_t t)
{
    struct err err = { 0 };
    int64_t back;
    int rc;

    rc = isotime_parse(text, z, "f", &back, &err);
    if (rc == 0 && back == t)
        return;
    if (rc == -CHIME_ERANGE && year_out_of_range(text))
        return;
    abort();
}

static void check(const char *s, const struct tz *z)
{
    char buf[ISOTIME_LEN];
    struct err err = { 0 };
    int64_t t;
    int rc;

    rc = isotime_parse(s, z, "f", &t, &err);
    if (rc != 0) {
        if (err.code != -rc || err.msg[0] == '\0' ||
            (err.code != CHIME_EINVAL && err.code != CHIME_ERANGE))
            abort();
        return;
    }
    isotime_format(t, z, ISOTIME_MICROS, buf, sizeof buf);
    check_reads_back(buf, z, t);
    isotime_format_utc(t, buf, sizeof buf);
    check_reads_back(buf, z, t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    size_t i;

    if (!s)
        return 0;
    load_zones();
    memcpy(s, data, size);
    s[size] = '\0';
    for (i = 0; i < N_ZONES; i++)
        check(s, zones[i]);
    free(s);
    return 0;
}
