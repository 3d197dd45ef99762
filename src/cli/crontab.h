/* crontab.h: a crontab file turned into chime job documents.
 *
 * The converter reads crontab(5) as cronie and Vixie cron read it: the
 * user format (five time fields, then the command) and the system format
 * of /etc/crontab and /etc/cron.d (a user name between the fields and the
 * command); environment settings (NAME = VALUE, quoted or not), which
 * apply to the lines below them; comments and blank lines; the @ macros;
 * lists, ranges, steps, names and cronie's '~' random pick; cronie's "-n"
 * command option; '%' in the command (the rest of the line is the
 * command's standard input); and a last line without a newline, which cron
 * never runs ("skipped").
 *
 * Each line that says something gets one entry: a job (with its complete,
 * validated document), an environment setting, a line chime has no use for
 * (MAILTO, RANDOM_DELAY, ...: "skipped", with the reason; a job's "what"
 * holds its notes and warnings, such as a step past its field's range), or an error with
 * the reason. Comments and blank lines get none. Whether to import when
 * some lines are errors is the caller's choice.
 *
 * Pure apart from reading zone files (a CRON_TZ zone must exist): the same
 * text and options give the same documents, names included, every time.
 * The caller owns the result and releases it with crontab_free(). */
#ifndef CHIME_CLI_CRONTAB_H
#define CHIME_CLI_CRONTAB_H

#include <stdbool.h>
#include <stddef.h>

struct err;
typedef struct json_t json_t;

#define CRONTAB_TEXT_MAX   ((size_t)1 << 20) /* bytes of one file */
#define CRONTAB_LINE_MAX   4096              /* bytes of one line, without its newline */
#define CRONTAB_JOBS_MAX   1000              /* job lines in one file */
#define CRONTAB_ERRORS_MAX 1000              /* bad lines before the file is refused whole */

enum crontab_format {
    CRONTAB_USER,       /* minute hour dom month dow command */
    CRONTAB_SYSTEM,     /* minute hour dom month dow user command */
};

enum crontab_kind {
    CRONTAB_JOB,        /* a job: doc, name, schedule (and user) */
    CRONTAB_ENV,        /* an environment setting for the lines below */
    CRONTAB_SKIPPED,    /* a setting chime has no use for; what says why */
    CRONTAB_ERROR,      /* a line that cannot be converted; what says why */
};

struct crontab_entry {
    size_t line;                /* 1-based */
    enum crontab_kind kind;
    char *what;                 /* JOB: a note or NULL; ENV: "NAME=VALUE"; else the reason */
    char *name;                 /* JOB: the job's name */
    char *schedule;             /* JOB: the cron expression as chime gets it */
    char *user;                 /* JOB, system format: the user column; else NULL */
    json_t *doc;                /* JOB: the job document, validated by job_from_json() */
};

struct crontab_opts {
    enum crontab_format format;
    const char *ns;             /* the jobs' namespace; NULL: "default" */
    const char *source;         /* the file's path ("-": standard input), for names,
                                   labels and descriptions; NULL: "-" */
};

struct crontab;

/* Converts LEN bytes of TEXT (no NUL needed at the end). Fails only for
 * the file as a whole: larger than CRONTAB_TEXT_MAX, more than
 * CRONTAB_JOBS_MAX jobs or CRONTAB_ERRORS_MAX bad lines (CHIME_ETOOBIG),
 * a bad namespace (CHIME_EINVAL), out of memory. */
int crontab_convert(const char *text, size_t len, const struct crontab_opts *o,
                    struct crontab **ret, struct err *err);
void crontab_free(struct crontab *c);

/* The entries in line order, borrowed from C. */
size_t crontab_count(const struct crontab *c);
const struct crontab_entry *crontab_entry(const struct crontab *c, size_t i);
/* How many entries are of KIND. */
size_t crontab_tally(const struct crontab *c, enum crontab_kind kind);

/* The format a path has unless told: system for /etc/crontab and files
 * directly in /etc/cron.d, user for anything else. */
enum crontab_format crontab_format_of(const char *path);

#endif
