/* bundle.c: a backup's database and run output files in one tar archive
 * (format in bundle.h).
 *
 * Writing streams each file into the archive once, hashing it on the way,
 * and puts the manifest last, so nothing is read twice. Reading is one
 * pass too: every member is checked (type, name, size) before a byte of
 * it is written anywhere, and hashed as it is read; only at the end, when
 * the manifest is known, can the archive be called whole, so a caller
 * extracts into a directory of its own and puts it in place only after
 * this returns 0. */
#include "store/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <sodium.h>

#include "store/store.h"
#include "util/err.h"
#include "../banned.h"

#define BLOCK      ((size_t)64 * 1024)
#define HEX_LEN    (2 * crypto_hash_sha256_BYTES + 1)
#define FORMAT_TAG "chime-backup 1"

/* ---- writing ---- */

struct writer {
    struct archive *a;
    json_t *members;            /* the manifest's list */
    int64_t now_s;
    char buf[BLOCK];
};

static int werr(struct writer *w, const char *what, struct err *err)
{
    return err_set(err, CHIME_EIO, "", "backup: writing the archive (%s): %s", what,
                   archive_error_string(w->a) ? archive_error_string(w->a) : "unknown error");
}

/* Adds the first SIZE bytes of FD as member NAME. */
static int add_member(struct writer *w, const char *name, int fd, int64_t size, struct err *err)
{
    struct archive_entry *e = archive_entry_new();
    crypto_hash_sha256_state st;
    unsigned char out[crypto_hash_sha256_BYTES];
    char hex[HEX_LEN];
    int64_t off = 0;

    if (!e)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0600);
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, w->now_s, 0);
    if (archive_write_header(w->a, e) != ARCHIVE_OK) {
        archive_entry_free(e);
        return werr(w, name, err);
    }
    archive_entry_free(e);
    crypto_hash_sha256_init(&st);
    while (off < size) {
        size_t want = size - off < (int64_t)sizeof w->buf ? (size_t)(size - off) : sizeof w->buf;
        ssize_t n = pread(fd, w->buf, want, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return err_set(err, CHIME_EIO, "", "backup: reading %s: %s", name,
                           n < 0 ? strerror(errno) : "it is shorter than it was");
        if (archive_write_data(w->a, w->buf, (size_t)n) != n)
            return werr(w, name, err);
        crypto_hash_sha256_update(&st, (const unsigned char *)w->buf, (unsigned long long)n);
        off += n;
    }
    crypto_hash_sha256_final(&st, out);
    sodium_bin2hex(hex, sizeof hex, out, sizeof out);
    if (json_array_append_new(w->members, json_pack("{s:s, s:I, s:s}", "name", name, "size",
                                                    (json_int_t)size, "sha256", hex))
        < 0)
        return err_set(err, CHIME_ENOMEM, "", "out of memory");
    return 0;
}

/* Adds the file at PATH as NAME; *RET_SIZE its size. -CHIME_ENOTFOUND
 * (ERR untouched) when there is no such file. */
static int add_file(struct writer *w, const char *name, const char *path, int64_t *ret_size,
                    struct err *err)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc;

    if (fd < 0 && errno == ENOENT)
        return -CHIME_ENOTFOUND;
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        rc = err_set(err, CHIME_EIO, "", "backup: opening %s: %s", path,
                     fd < 0 || errno ? strerror(errno) : "not a regular file");
        goto done;
    }
    rc = add_member(w, name, fd, (int64_t)sb.st_size, err);
    if (rc == 0)
        *ret_size = (int64_t)sb.st_size;
done:
    if (fd >= 0)
        close(fd);
    return rc;
}

int bundle_write(int fd, const char *db, const char *runs_dir, const struct store_backup_run *runs,
                 size_t n, int64_t now_us, struct bundle_info *ret, struct err *err)
{
    struct writer *w = calloc(1, sizeof *w);
    struct bundle_info info = {.created_us = now_us};
    json_t *missing = json_array(), *manifest = NULL;
    char *text = NULL;
    char name[64], path[4200];
    int rc;

    if (!w || !missing || !(w->members = json_array()) || !(w->a = archive_write_new())) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    w->now_s = now_us / 1000000;
    if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK
        || archive_write_add_filter_none(w->a) != ARCHIVE_OK
        || archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK
        || archive_write_open_fd(w->a, fd) != ARCHIVE_OK) {
        rc = werr(w, "start", err);
        goto done;
    }
    rc = add_file(w, BUNDLE_DB, db, &info.db_bytes, err);
    if (rc == -CHIME_ENOTFOUND)
        rc = err_set(err, CHIME_EIO, "", "backup: the database copy %s is gone", db);
    if (rc < 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        int64_t size = 0;

        snprintf(name, sizeof name, BUNDLE_RUNS "/%" PRId64 ".out", runs[i].id);
        if ((size_t)snprintf(path, sizeof path, "%s/%" PRId64 ".out", runs_dir, runs[i].id)
            >= sizeof path) {
            rc = err_set(err, CHIME_EIO, "", "backup: the runs directory's path is too long");
            goto done;
        }
        rc = add_file(w, name, path, &size, err);
        if (rc == -CHIME_ENOTFOUND) {
            /* a run that never started has no output; one that did and
             * has none lost it: said in the manifest, never skipped */
            if (runs[i].started) {
                if (info.missing < BUNDLE_MISSING_SHOWN)
                    info.missing_ids[info.missing] = runs[i].id;
                info.missing++;
                json_array_append_new(missing, json_integer(runs[i].id));
            }
            continue;
        }
        if (rc < 0)
            goto done;
        info.outputs++;
        info.output_bytes += size;
    }
    manifest = json_pack("{s:s, s:I, s:O, s:O}", "format", FORMAT_TAG, "created_us",
                         (json_int_t)now_us, "members", w->members, "missing_outputs", missing);
    text = manifest ? json_dumps(manifest, JSON_COMPACT) : NULL;
    if (!text) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    {
        struct archive_entry *e = archive_entry_new();
        size_t len = strlen(text);

        if (!e) {
            rc = err_set(err, CHIME_ENOMEM, "", "out of memory");
            goto done;
        }
        archive_entry_set_pathname(e, BUNDLE_MANIFEST);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0600);
        archive_entry_set_size(e, (int64_t)len);
        archive_entry_set_mtime(e, w->now_s, 0);
        rc = archive_write_header(w->a, e) == ARCHIVE_OK
                     && archive_write_data(w->a, text, len) == (la_ssize_t)len
                 ? 0
                 : werr(w, BUNDLE_MANIFEST, err);
        archive_entry_free(e);
        if (rc < 0)
            goto done;
    }
    if (archive_write_close(w->a) != ARCHIVE_OK) {
        rc = werr(w, "end", err);
        goto done;
    }
    *ret = info;
    rc = 0;
done:
    if (w) {
        if (w->a)
            archive_write_free(w->a);
        json_decref(w->members);
    }
    free(w);
    free(text);
    json_decref(manifest);
    json_decref(missing);
    return rc;
}

/* ---- reading ---- */

static int bad(struct err *err, const char *fmt, const char *arg)
{
    char q[120];

    return err_set(err, CHIME_EINVAL, "BACKUP", fmt, err_quote(arg, strlen(arg), q, sizeof q));
}

/* The run id of an output file named "<id>.out" (digits, no leading
 * zero), else 0. */
int64_t bundle_out_id(const char *file)
{
    int64_t id = 0;
    int digits = 0;

    if (*file == '0')
        return 0;
    for (; *file >= '0' && *file <= '9'; file++, digits++) {
        if (digits == 18)
            return 0;
        id = id * 10 + (*file - '0');
    }
    return digits && strcmp(file, ".out") == 0 ? id : 0;
}

/* The run id of a member named "runs/<id>.out", else 0. */
static int64_t run_member(const char *name)
{
    if (strncmp(name, BUNDLE_RUNS "/", sizeof BUNDLE_RUNS) != 0)
        return 0;
    return bundle_out_id(name + sizeof BUNDLE_RUNS);
}

/* Whether the manifest's list MEMBERS is exactly SEEN (name -> [size, sha256]). */
static int manifest_check(const json_t *m, const json_t *seen, struct bundle_info *info,
                          struct err *err)
{
    const json_t *members = json_object_get(m, "members"), *missing = json_object_get(m, "missing_outputs");
    const json_t *x;
    size_t i;

    if (!json_is_object(m) || !json_is_string(json_object_get(m, "format"))
        || strcmp(json_string_value(json_object_get(m, "format")), FORMAT_TAG) != 0)
        return bad(err, "its manifest is not a chime backup's ('%s')", BUNDLE_MANIFEST);
    if (!json_is_array(members) || !json_is_array(missing)
        || !json_is_integer(json_object_get(m, "created_us")))
        return bad(err, "its manifest '%s' lacks members, missing_outputs or created_us",
                   BUNDLE_MANIFEST);
    if (json_array_size(members) != json_object_size(seen))
        return bad(err, "its members are not the ones its manifest lists ('%s')", BUNDLE_MANIFEST);
    json_array_foreach(members, i, x) {
        const char *name = json_string_value(json_object_get(x, "name"));
        const json_t *got = name ? json_object_get(seen, name) : NULL;

        if (!got || !json_is_integer(json_object_get(x, "size"))
            || json_integer_value(json_object_get(x, "size"))
                   != json_integer_value(json_array_get(got, 0))
            || !json_is_string(json_object_get(x, "sha256"))
            || strcmp(json_string_value(json_object_get(x, "sha256")),
                      json_string_value(json_array_get(got, 1)))
                   != 0)
            return bad(err, "member '%s' is not what its manifest says (size or SHA-256)",
                       name ? name : "?");
    }
    info->created_us = json_integer_value(json_object_get(m, "created_us"));
    json_array_foreach(missing, i, x) {
        if (!json_is_integer(x) || json_integer_value(x) < 1)
            return bad(err, "its manifest's missing_outputs are not run ids ('%s')", BUNDLE_MANIFEST);
        if (info->missing < BUNDLE_MISSING_SHOWN)
            info->missing_ids[info->missing] = json_integer_value(x);
        info->missing++;
    }
    return 0;
}

/* Opens NAME for writing under DEST (runs/ made on first use). */
static int dest_open(const char *dest, const char *name, bool *made_runs, struct err *err)
{
    char path[4200];
    int fd;

    if (!*made_runs && strchr(name, '/')) {
        snprintf(path, sizeof path, "%s/" BUNDLE_RUNS, dest);
        if (mkdir(path, 0750) < 0)
            return err_set(err, CHIME_EIO, "", "cannot make %s: %s", path, strerror(errno));
        *made_runs = true;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dest, name) >= sizeof path)
        return err_set(err, CHIME_ETOOBIG, "data-dir", "the path is too long");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(err, CHIME_EIO, "", "cannot write %s: %s", path, strerror(errno));
    return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads the data of member NAME (SIZE bytes by its header) whole: hashed
 * into HEX, written to FD (-1: nowhere), kept in *KEEP when KEEP. */
static int read_member(struct archive *a, const char *name, int64_t size, int fd, char **keep,
                       char hex[HEX_LEN], struct err *err)
{
    crypto_hash_sha256_state st;
    unsigned char out[crypto_hash_sha256_BYTES];
    char buf[BLOCK];
    int64_t got = 0;
    la_ssize_t n;

    crypto_hash_sha256_init(&st);
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) {
        if (got + n > size)
            return bad(err, "member '%s' is longer than its header says", name);
        crypto_hash_sha256_update(&st, (const unsigned char *)buf, (unsigned long long)n);
        if (keep)
            memcpy(*keep + got, buf, (size_t)n);
        if (fd >= 0 && write_all(fd, buf, (size_t)n) < 0)
            return err_set(err, CHIME_EIO, "", "cannot write %s: %s", name, strerror(errno));
        got += n;
    }
    if (n < 0 || got != size)
        return err_set(err, CHIME_EINVAL, "BACKUP", "it is damaged or cut short at member '%s': %s",
                       name, n < 0 && archive_error_string(a) ? archive_error_string(a)
                                                              : "fewer bytes than its header says");
    crypto_hash_sha256_final(&st, out);
    sodium_bin2hex(hex, HEX_LEN, out, sizeof out);
    if (fd >= 0 && fsync(fd) < 0)
        return err_set(err, CHIME_EIO, "", "cannot write %s: %s", name, strerror(errno));
    return 0;
}

int bundle_read(const char *path, const char *dest, struct bundle_info *ret, struct err *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    struct bundle_info info = {0};
    json_t *seen = json_object(), *manifest = NULL;
    char *text = NULL, hex[HEX_LEN];
    bool made_runs = false;
    int rc, fd = -1;

    if (!a || !seen) {
        rc = err_set(err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    archive_read_support_format_tar(a); /* nothing else, and no decompression */
    if (archive_read_open_filename(a, path, BLOCK) != ARCHIVE_OK) {
        rc = err_set(err, CHIME_EINVAL, "BACKUP", "not a chime backup: %s",
                     archive_error_string(a) ? archive_error_string(a) : "unreadable");
        goto done;
    }
    for (;;) {
        const char *name;
        int64_t size, id;

        rc = archive_read_next_header(a, &e);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc != ARCHIVE_OK) {
            rc = err_set(err, CHIME_EINVAL, "BACKUP", "not a sound chime backup: %s",
                         archive_error_string(a) ? archive_error_string(a) : "a bad header");
            goto done;
        }
        name = archive_entry_pathname(e);
        size = archive_entry_size(e);
        if (!name) {
            rc = err_set(err, CHIME_EINVAL, "BACKUP", "a member has no name");
            goto done;
        }
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)
            || archive_entry_symlink(e)) {
            rc = bad(err, "member '%s' is not a regular file (links, devices and directories "
                          "are refused)", name);
            goto done;
        }
        id = run_member(name);
        if (!id && strcmp(name, BUNDLE_DB) != 0 && strcmp(name, BUNDLE_MANIFEST) != 0) {
            rc = bad(err, "member '%s' is none a chime backup has (chime.db, runs/<id>.out, "
                          "chime-backup.json)", name);
            goto done;
        }
        if (manifest) {
            rc = bad(err, "member '%s' comes after the manifest", name);
            goto done;
        }
        if (json_object_get(seen, name)) {
            rc = bad(err, "member '%s' is there twice", name);
            goto done;
        }
        if (!archive_entry_size_is_set(e) || size < 0
            || size > (strcmp(name, BUNDLE_MANIFEST) == 0 ? BUNDLE_MANIFEST_MAX : BUNDLE_MEMBER_MAX)) {
            rc = bad(err, "member '%s' is too large", name);
            goto done;
        }
        if (strcmp(name, BUNDLE_MANIFEST) == 0) {
            text = calloc(1, (size_t)size + 1);
            if (!text) {
                rc = err_set(err, CHIME_ENOMEM, "", "out of memory");
                goto done;
            }
            if ((rc = read_member(a, name, size, -1, &text, hex, err)) < 0)
                goto done;
            manifest = json_loadb(text, (size_t)size, JSON_REJECT_DUPLICATES, NULL);
            if (!manifest) {
                rc = bad(err, "its manifest '%s' is not JSON", name);
                goto done;
            }
            continue;
        }
        if (dest && (fd = dest_open(dest, name, &made_runs, err)) < 0) {
            rc = fd;
            goto done;
        }
        rc = read_member(a, name, size, fd, NULL, hex, err);
        if (fd >= 0)
            close(fd);
        fd = -1;
        if (rc < 0)
            goto done;
        if (json_object_set_new(seen, name, json_pack("[I, s]", (json_int_t)size, hex)) < 0) {
            rc = err_set(err, CHIME_ENOMEM, "", "out of memory");
            goto done;
        }
        if (id) {
            info.outputs++;
            info.output_bytes += size;
        } else {
            info.db_bytes = size;
        }
    }
    if (!manifest) {
        rc = bad(err, "it has no manifest ('%s'): not a chime backup, or cut short", BUNDLE_MANIFEST);
        goto done;
    }
    if (!json_object_get(seen, BUNDLE_DB)) {
        rc = bad(err, "it has no database ('%s')", BUNDLE_DB);
        goto done;
    }
    if ((rc = manifest_check(manifest, seen, &info, err)) < 0)
        goto done;
    *ret = info;
    rc = 0;
done:
    if (a)
        archive_read_free(a);
    free(text);
    json_decref(manifest);
    json_decref(seen);
    return rc;
}

void bundle_remove(const char *dir)
{
    char runs[4200], path[4500];
    DIR *d;
    struct dirent *de;

    snprintf(runs, sizeof runs, "%s/" BUNDLE_RUNS, dir);
    if ((d = opendir(runs)) != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (!bundle_out_id(de->d_name))
                continue;
            snprintf(path, sizeof path, "%s/%s", runs, de->d_name);
            unlink(path);
        }
        closedir(d);
        rmdir(runs);
    }
    snprintf(path, sizeof path, "%s/" BUNDLE_DB, dir);
    unlink(path);
    rmdir(dir);
}
