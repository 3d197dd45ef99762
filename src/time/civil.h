/* civil.h: the proleptic Gregorian calendar as integer arithmetic.
 *
 * Days are counted from 1970-01-01 (day 0), in both directions, with
 * Howard Hinnant's days_from_civil / civil_from_days algorithms: exact for
 * every year an int64_t of seconds can hold, no tables, no loops. A "wall"
 * time is a local date and time written as seconds since 1970-01-01T00:00:00
 * as if it were UTC; a zone maps instants to walls and back. */
#ifndef CHIME_CIVIL_H
#define CHIME_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

struct civil {
    int64_t year;
    int month;          /* 1-12 */
    int day;            /* 1-31 */
    int hour, min, sec;
    int wday;           /* 0 Sunday - 6 Saturday */
};

static inline int64_t civil_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static inline bool civil_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static inline int civil_month_days(int64_t y, int m)
{
    static const unsigned char days[12] = { 31, 28, 31, 30, 31, 30,
                                            31, 31, 30, 31, 30, 31 };

    return m == 2 && civil_is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of year-month-day (month 1-12, day 1-31). */
static inline int64_t civil_days(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = civil_floordiv(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Weekday (0 Sunday) of a day count; 1970-01-01 was a Thursday. */
static inline int civil_wday(int64_t days)
{
    return (int)(days - civil_floordiv(days + 4, 7) * 7 + 4);
}

static inline void civil_from_days(int64_t z, struct civil *c)
{
    int64_t era, doe, yoe, doy, mp;

    c->wday = civil_wday(z);
    z += 719468;
    era = civil_floordiv(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c->year = yoe + era * 400 + (c->month <= 2);
}

/* Breaks seconds since the epoch (a wall or a UTC instant) into fields. */
static inline void civil_from_seconds(int64_t s, struct civil *c)
{
    int64_t days = civil_floordiv(s, 86400);
    int64_t rem = s - days * 86400;

    civil_from_days(days, c);
    c->hour = (int)(rem / 3600);
    c->min = (int)(rem / 60 % 60);
    c->sec = (int)(rem % 60);
}

static inline int64_t civil_seconds(int64_t y, int mo, int d, int h, int mi, int s)
{
    return civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

#endif
