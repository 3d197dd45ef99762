/* main.c: the chime binary's command table. One row per command: its name,
 * the function that runs it, its arguments and what it does. Dispatch and
 * `chime help` both read the table (cmdline_dispatch()). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/cmdline.h"
#include "banned.h"

#ifndef CHIME_VERSION
#define CHIME_VERSION "0.1.0"
#endif

static const struct cmdline_cmd commands[] = {
    { "serve", cli_serve, "[--data-dir DIR] [--listen HOST:PORT] [--timezone ZONE] [--jobs-dir DIR] ...",
      "run the daemon (chime serve --help for every option)" },
    { "next", cli_next, "EXPR [--tz ZONE] [--from ISO8601] [--count N]",
      "print the next fire instants of a cron expression" },
    { "jobs", cli_jobs, "[--namespace NS] [--label KEY=VALUE]... [--json]",
      "list the jobs: schedule, next fire, last run, paused" },
    { "job", cli_job,
      "add FILE|- | edit JOB | show JOB [--json] | rm JOB | pause JOB | resume JOB | history JOB"
      " | diff JOB V1 [V2] | rollback JOB V",
      "create, change, inspect or remove one job (see chime job help)" },
    { "run", cli_run, "JOB [--wait [--timeout DURATION]] [--env KEY=VALUE]... [--json]",
      "run JOB now; with --wait, show its output and exit with its status" },
    { "runs", cli_runs, "[JOB] [--state S] [--since T] [--until T] [--limit N] [--json]",
      "list runs, newest first" },
    { "logs", cli_logs, "RUN [--follow]", "print a run's output; --follow until it ends" },
    { "import-crontab", cli_import_crontab,
      "FILE|- [--namespace NS] [--user|--system] [--dry-run] [--json]",
      "turn a crontab's lines into jobs (all or nothing; again: no change)" },
    { "export", cli_export, "[--namespace NS] [--include-tokens] [-o FILE]",
      "write every job document (and the tokens' names, never secrets) as one JSON file" },
    { "import", cli_import, "FILE|- [--dry-run] [--prune] [--namespace NS] [--json]",
      "apply an export file all or nothing, printing the plan (create/change/unchanged/remove)" },
    { "apply", cli_apply, "FILE|DIR|- [--dry-run] [--json]",
      "create or change jobs from job documents, printing the plan (never removes; again: no change)" },
    { "backup", cli_backup, "PATH [--force] [--json]",
      "one consistent tar archive of the daemon's database and run output, written to PATH here" },
    { "restore", cli_restore, "BACKUP [--data-dir DIR] [--json]",
      "put a backup (database and run output) back into the data directory (the daemon stopped; the old ones kept)" },
    { "token", cli_token,
      "create NAME --role ROLE [--namespace NS]... [--expires DURATION] [--json] | list | revoke NAME",
      "manage the daemon's API tokens (the secret is shown once, at create)" },
    { "audit", cli_audit, "[--job JOB] [--token NAME] [--since T] [--until T] [--limit N] [--json]",
      "who changed what, when and from where, newest first" },
    { "notifications", cli_notifications,
      "[--state S] [--job JOB] [--channel C] [--limit N] [--json] | retry ID",
      "notifications sent (or being sent) for jobs' events, newest first" },
    { "channels", cli_channels, "[--json]", "the notification channels the daemon has" },
    { "dead-letters", cli_dead_letters, "[JOB] [--limit N] [--json]",
      "fires whose last attempt failed, with why, newest first" },
    { "requeue", cli_requeue, "RUN [--json]",
      "run a dead letter's job again now and drop the dead letter" },
    { "cancel", cli_cancel, "RUN [--json]", "cancel a queued or running run" },
};

static const struct cmdline_cmds table = {
    "chime",
    "chime: a batch job scheduler\n\nusage: chime [--url URL] [--token TOKEN | --token-file FILE]"
    " COMMAND [ARGS]\n\n",
    commands, sizeof commands / sizeof commands[0],
    "\n  --url, --token, --token-file (before or after COMMAND) win over CHIME_URL and"
    " CHIME_TOKEN\n  chime help | --help      this text\n  chime COMMAND --help     a command's"
    " options\n  chime --version\n",
};

int main(int argc, char **argv)
{
    int rc = client_options(&argc, argv);

    if (rc)
        return rc;
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        puts("chime " CHIME_VERSION);
        return 0;
    }
    return cmdline_dispatch(&table, argc, argv);
}
