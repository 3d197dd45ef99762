/* jobedit.c: `chime job edit JOB`: the job's document in a temporary file,
 * the user's editor on it, and the file PUT back when it changed.
 *
 * The PUT carries If-Match with the version that was read, so an edit
 * made while someone else saved the job is refused rather than silently
 * undoing theirs. Whenever the edit is not saved (invalid JSON, refused by
 * the daemon, the daemon gone), the file is kept and its path told, so no
 * typing is lost. */
#include "cli/jobs.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/cmdline.h"
#include "util/err.h"
#include "../banned.h"

extern char **environ;

static const struct cmdline_spec spec = {
    "job edit", "JOB",
    "  opens the job's JSON document in $VISUAL, else $EDITOR, else vi, and saves\n"
    "  it when the editor exits with the file changed\n",
    NULL, 0, NULL, 1, 1, "JOB",
};

/* Writes TEXT into a new file under $TMPDIR (or /tmp) named after ID. */
static int write_temp(const char *id, const char *text, char *path, size_t len, struct err *err)
{
    const char *dir = getenv("TMPDIR");
    size_t n = strlen(text);
    FILE *f;
    int fd;

    if (!dir || !*dir)
        dir = "/tmp";
    if ((size_t)snprintf(path, len, "%s/chime-%.*s-%s-XXXXXX.json", dir,
                         (int)strcspn(id, "/"), id, strchr(id, '/') + 1) >= len)
        return err_set(err, CHIME_ERANGE, "TMPDIR", "'%.60s' is too long a path", dir);
    if ((fd = mkstemps(path, 5)) < 0)
        return err_set(err, CHIME_EIO, "TMPDIR", "cannot create a file in '%.60s': %s", dir,
                       strerror(errno));
    if (!(f = fdopen(fd, "w"))) {
        close(fd);
        unlink(path);
        return err_set(err, CHIME_EIO, "", "cannot write '%s': %s", path, strerror(errno));
    }
    if (fwrite(text, 1, n, f) != n || fputc('\n', f) == EOF || fclose(f) != 0) {
        unlink(path);
        return err_set(err, CHIME_EIO, "", "cannot write '%s': %s", path, strerror(errno));
    }
    return 0;
}

/* Runs the editor as git does: `sh -c 'EDITOR "$@"' EDITOR PATH`, so that
 * EDITOR may carry arguments ("code --wait"). */
static int run_editor(const char *path, struct err *err)
{
    const char *ed = getenv("VISUAL");
    char *script = NULL, *argv[6];
    pid_t pid;
    int status, rc;

    if (!ed || !*ed)
        ed = getenv("EDITOR");
    if (!ed || !*ed)
        ed = "vi";
    if (asprintf(&script, "%s \"$@\"", ed) < 0)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    argv[0] = "sh";
    argv[1] = "-c";
    argv[2] = script;
    argv[3] = (char *)ed;
    argv[4] = (char *)path;
    argv[5] = NULL;
    rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
    free(script);
    if (rc)
        return err_set(err, CHIME_EIO, "editor", "cannot start /bin/sh: %s", strerror(rc));
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return err_set(err, CHIME_EIO, "editor", "lost the editor: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        return err_set(err, CHIME_EIO, "editor", "'%.60s' exited with status %d", ed,
                       WEXITSTATUS(status));
    return err_set(err, CHIME_EIO, "editor", "'%.60s' was killed by signal %d", ed,
                   WTERMSIG(status));
}

/* Ends ERR's message with where the edit was kept, cutting the message
 * rather than the path when both do not fit: still one line. */
static void note_kept(struct err *err, const char *path)
{
    char note[sizeof err->msg];
    size_t n = (size_t)snprintf(note, sizeof note, "; your edit is kept in %s", path);
    size_t len = strlen(err->msg);

    if (n >= sizeof note)
        n = sizeof note - 1;
    if (len + n >= sizeof err->msg)
        len = sizeof err->msg - 1 - n;
    memcpy(err->msg + len, note, n + 1);
}

/* Whether AFTER (LEN bytes, read back) is BEFORE as it was written, give
 * or take the final newlines an editor may add or drop. */
static int unchanged(const char *before, const char *after, size_t len)
{
    size_t n = strlen(before);

    return len >= n && !memcmp(after, before, n) && strspn(after + n, "\n") == len - n;
}

int jobs_edit(int argc, char **argv)
{
    struct client *c = NULL;
    struct err err = { 0 };
    json_t *job = NULL, *doc = NULL, *saved = NULL;
    json_error_t jerr;
    char id[CLI_JOB_ID_MAX], path[200], tmp[512] = "", version[32] = "";
    char *before = NULL, *after = NULL;
    size_t len;
    int rc = jobs_args(&spec, argc, argv, NULL, id);

    if (rc)
        return rc < 0 ? 0 : rc;
    snprintf(path, sizeof path, "/api/v1/jobs/%s", id);
    if ((rc = client_new(&c, &err)) < 0
        || (rc = client_json(c, "GET", path, NULL, NULL, &job, &err)) < 0 || !json_is_object(job)) {
        if (rc == 0)
            err_set(&err, CHIME_EIO, "", "the daemon's answer is not a job");
        rc = client_fail(c, "job edit", &err);
        goto done;
    }
    if (json_is_integer(json_object_get(job, "version")))
        snprintf(version, sizeof version, "%lld",
                 (long long)json_integer_value(json_object_get(job, "version")));
    if ((doc = json_deep_copy(job)))
        jobs_strip_view(doc);
    if (!doc || !(before = json_dumps(doc, JSON_INDENT(2)))) {
        err_set(&err, CHIME_ENOMEM, "", "out of memory");
        rc = 1;
        goto fail_local;
    }
    if (write_temp(id, before, tmp, sizeof tmp, &err) < 0) {
        tmp[0] = '\0';
        rc = 1;
        goto fail_local;
    }
    if (run_editor(tmp, &err) < 0) {
        rc = 1;
        goto fail_kept;
    }
    if (cli_read_file(tmp, CLI_FILE_MAX, &after, &len, &err) < 0) {
        rc = 2;
        goto fail_kept;
    }
    if (unchanged(before, after, len)) {
        fprintf(stderr, "chime job edit: no change to %s\n", id);
        unlink(tmp);
        rc = 0;
        goto done;
    }
    json_decref(doc);
    if (!(doc = json_loadb(after, len, 0, &jerr)) || !json_is_object(doc)) {
        if (doc)
            err_set(&err, CHIME_EINVAL, "file", "a job document is a JSON object");
        else
            err_set(&err, CHIME_EINVAL, "file", "line %d, column %d: %s", jerr.line, jerr.column,
                    jerr.text);
        rc = 2;
        goto fail_kept;
    }
    if (client_json(c, "PUT", path, after, version[0] ? version : NULL, &saved, &err) < 0) {
        if (err.code == CHIME_ECONFLICT && !err.field[0])
            err_set(&err, CHIME_ECONFLICT, "version",
                    "%s changed since it was opened; edit it again", id);
        note_kept(&err, tmp);
        rc = client_fail(c, "job edit", &err);
        goto done;
    }
    unlink(tmp);
    snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(json_object_get(saved, "version")));
    if (version[0] && !strcmp(tmp, version))
        /* the same document (paused aside: that is the job's state): no version */
        fprintf(stderr, "chime job edit: no change to %s\n", id);
    else if (json_is_integer(json_object_get(saved, "version")))
        printf("saved %s (version %s)\n", id, tmp);
    else
        printf("saved %s\n", id);
    rc = 0;
    goto done;
fail_kept:
    note_kept(&err, tmp);
    cli_error("job edit", &err);
    goto done;
fail_local:
    cli_error("job edit", &err);
done:
    free(before);
    free(after);
    json_decref(saved);
    json_decref(doc);
    json_decref(job);
    client_free(c);
    return rc;
}
