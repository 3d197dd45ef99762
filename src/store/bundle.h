/* bundle.h: a backup as one file: the database and the run output files
 * in a tar archive (libarchive, POSIX pax format, uncompressed).
 *
 * Members, in this order:
 *
 *     chime.db              the database, as store_backup() copied it
 *     runs/<id>.out         the output file of run <id> (exec/output.h)
 *     chime-backup.json     the manifest, last: every member's name, size
 *                           and SHA-256, and the started runs of the
 *                           database whose output file was not there
 *
 * A reader takes nothing on trust: it accepts regular files of exactly
 * those names (no links, devices, directories, absolute or `..` paths),
 * each once, no larger than BUNDLE_MEMBER_MAX (the manifest
 * BUNDLE_MANIFEST_MAX), and every member must match the manifest. */
#ifndef CHIME_STORE_BUNDLE_H
#define CHIME_STORE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct store_backup_run;

#define BUNDLE_DB           "chime.db"
#define BUNDLE_MANIFEST     "chime-backup.json"
#define BUNDLE_RUNS         "runs"
#define BUNDLE_MEMBER_MAX   (INT64_C(1) << 40)   /* bytes of one member: 1 TiB */
#define BUNDLE_MANIFEST_MAX ((int64_t)64 << 20)  /* bytes of the manifest */
#define BUNDLE_MISSING_SHOWN 8                   /* missing run ids a summary names */

/* What a bundle holds. */
struct bundle_info {
    int64_t created_us;
    int64_t db_bytes;
    int64_t outputs;            /* output files in it */
    int64_t output_bytes;
    int64_t missing;            /* started runs whose output file was not there */
    int64_t missing_ids[BUNDLE_MISSING_SHOWN]; /* the first of them */
};

/* Writes a bundle to FD (which it borrows): the database file DB, then the
 * output file RUNS_DIR/<id>.out of each of the N RUNS (of that database)
 * that has one, then the manifest. A started run without its file is
 * listed as missing, not an error. A file still being written (a running
 * run) goes in as long as it was when it was opened. */
int bundle_write(int fd, const char *db, const char *runs_dir, const struct store_backup_run *runs,
                 size_t n, int64_t now_us, struct bundle_info *ret, struct err *err);

/* Reads the bundle at PATH whole and checks it (CHIME_EINVAL naming
 * "BACKUP" says what is wrong). With DEST (an empty directory) each member
 * is written there as it is read: DEST/chime.db, DEST/runs/<id>.out; on
 * failure what was written stays for the caller to remove
 * (bundle_remove). DEST NULL only checks. */
int bundle_read(const char *path, const char *dest, struct bundle_info *ret, struct err *err);

/* The run id of an output file named "<id>.out" (the runs directory's
 * names), else 0. */
int64_t bundle_out_id(const char *file);

/* Removes DIR and what a bundle puts in it (chime.db, runs/<id>.out, the
 * runs directory), and nothing else: a file of another name stays, and
 * so does DIR then. */
void bundle_remove(const char *dir);

#endif
