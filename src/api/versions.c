/* versions.c: a job's past: its versions listed and one shown, the diff
 * of two versions, and rollback.
 *
 * A diff compares the two stored documents field by field (jsondiff.h:
 * objects member by member, arrays whole). A rollback is a change like any
 * other: version V's document goes through the same path as a PUT
 * (validated again, saved through jobsave.h with its cycle check, written
 * with If-Match so that it cannot overwrite a change made meanwhile) and
 * becomes a new version; rolling back to a document equal to the current
 * one makes none. "paused" is the one member a rollback does not take from
 * V: pause and resume are operations on the job, not versions of it, so
 * the job stays paused or running as it is. */
#include "api/api_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/job.h"
#include "job/jobsecret.h"
#include "store/store.h"
#include "util/jsondiff.h"
#include "../banned.h"

#define ID_LEN (2 * JOB_NAME_MAX + 2)

/* Version VERSION of NS/NAME as a parsed document (owned, in *RET), with
 * the job's state in *RET_SJ; a version the job does not have is 404
 * naming FIELD. */
static int version_doc(struct api_call *c, const char *ns, const char *name, int64_t version,
                       const char *field, struct store_job *ret_sj, json_t **ret)
{
    json_error_t jerr;
    json_t *doc;
    int rc;

    rc = store_job_get_version(c->api->opt.store, ns, name, version, ret_sj, &c->err);
    if (rc == -CHIME_ENOTFOUND && store_job_get(c->api->opt.store, ns, name, ret_sj, NULL) == 0) {
        /* the job is there: it is the version that is not */
        rc = err_set(&c->err, CHIME_ENOTFOUND, field,
                     "%s/%s has no version %" PRId64 " (its versions are 1-%" PRId64 ")", ns, name,
                     version, ret_sj->latest_version);
        store_job_release(ret_sj);
    }
    if (rc < 0)
        return rc;
    doc = json_loadb(ret_sj->doc, ret_sj->doc_len, 0, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        store_job_release(ret_sj);
        return err_set(&c->err, CHIME_EIO, "", "the stored document of %s/%s version %" PRId64
                       " is not JSON", ns, name, version);
    }
    *ret = doc;
    return 0;
}

int api_job_diff(struct api_call *c)
{
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[ID_LEN];
    struct store_job a = {0}, b = {0}, cur = {0};
    json_t *from = NULL, *to = NULL, *changes = NULL;
    int64_t v1, v2;
    int rc;

    rc = api_job_path(c, ns, name, id, &c->err);
    if (rc < 0)
        return rc;
    if (!api_query(c, "from"))
        return err_set(&c->err, CHIME_EINVAL, "from", "the version to compare from is missing");
    rc = api_query_int(c, "from", 1, INT64_MAX, 0, &v1, &c->err);
    if (rc < 0)
        return rc;
    /* "to" defaults to the job's current version */
    rc = store_job_get(c->api->opt.store, ns, name, &cur, &c->err);
    if (rc < 0)
        return rc;
    rc = api_query_int(c, "to", 1, INT64_MAX, cur.version, &v2, &c->err);
    store_job_release(&cur);
    if (rc < 0)
        return rc;
    rc = version_doc(c, ns, name, v1, "from", &a, &from);
    if (rc < 0)
        goto done;
    rc = version_doc(c, ns, name, v2, "to", &b, &to);
    if (rc < 0)
        goto done;
    /* secrets as a view shows them: a changed one differs in its tag */
    if (job_doc_redact(from) < 0 || job_doc_redact(to) < 0) {
        rc = err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
        goto done;
    }
    rc = jsondiff_compute(from, to, &changes, &c->err);
    if (rc < 0)
        goto done;
    rc = api_reply_json(c, 200,
                        json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:o}", "job", id, "from",
                                  (json_int_t)v1, "to", (json_int_t)v2, "from_created_at",
                                  api_json_instant(a.version_us), "to_created_at",
                                  api_json_instant(b.version_us), "changes", changes, "equal",
                                  json_boolean(json_array_size(changes) == 0)));
    changes = NULL;
done:
    json_decref(changes);
    json_decref(from);
    json_decref(to);
    if (from)
        store_job_release(&a);
    if (to)
        store_job_release(&b);
    return rc;
}

/* The body of a rollback: {"version": N}. */
static int rollback_body(struct api_call *c, int64_t *ret)
{
    json_t *body = NULL, *v;
    const char *key;
    char q[48];
    int rc = 0;

    rc = api_body_object(c, &body, &c->err);
    if (rc < 0)
        return rc;
    json_object_foreach(body, key, v) if (strcmp(key, "version") != 0)
    {
        rc = err_set(&c->err, CHIME_EINVAL, key, "unknown field '%s'",
                     err_quote(key, 40, q, sizeof q));
        goto done;
    }
    v = json_object_get(body, "version");
    if (!v)
        rc = err_set(&c->err, CHIME_EINVAL, "version", "the version to roll back to is missing");
    else if (!json_is_integer(v) || json_integer_value(v) < 1)
        rc = err_set(&c->err, CHIME_EINVAL, "version", "must be a version number (1, 2, ...)");
    else
        *ret = json_integer_value(v);
done:
    json_decref(body);
    return rc;
}

int api_job_rollback(struct api_call *c)
{
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[ID_LEN];
    struct store_job sj = {0};
    struct job *j = NULL;
    json_t *doc = NULL;
    int64_t version = 0, expect = 0;
    int rc;

    rc = api_job_path(c, ns, name, id, &c->err);
    if (rc == 0)
        rc = api_job_if_match(c, &expect, &c->err);
    if (rc == 0)
        rc = rollback_body(c, &version);
    if (rc < 0)
        return rc;
    api_audit_job(c, ns, name);
    rc = version_doc(c, ns, name, version, "version", &sj, &doc);
    if (rc < 0)
        return rc;
    /* without If-Match: the version read now, so that a change made
     * between this read and the write is a conflict, not overwritten */
    if (!expect)
        expect = sj.latest_version;
    json_object_set_new(doc, "paused", json_boolean(sj.paused));
    rc = job_from_json(doc, ns, &j, &c->err);
    if (rc < 0) {
        /* the rules moved on since (a zone gone, a stricter check) */
        char why[sizeof c->err.msg];

        snprintf(why, sizeof why, "%s", c->err.msg);
        err_set(&c->err, -rc, c->err.field, "version %" PRId64 " is not valid now: %s", version,
                why);
        goto done;
    }
    rc = api_job_save(c, j, expect);
    if (rc < 0)
        goto done;
    rc = api_job_reply(c, 200, ns, name);
done:
    json_decref(doc);
    store_job_release(&sj);
    return rc;
}

static json_t *version_json(int64_t version, int64_t created_us, const char *author, size_t doc_len)
{
    return json_pack("{s:I, s:o, s:o, s:I}", "version", (json_int_t)version, "created_at",
                     api_json_instant(created_us), "author",
                     author ? api_json_text(author, strlen(author)) : json_null(), "doc_bytes",
                     (json_int_t)doc_len);
}

int api_job_versions(struct api_call *c)
{
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[ID_LEN];
    struct store_version_page page = {0};
    struct store_job sj = {0};
    json_t *items = NULL;
    int64_t limit;
    size_t i;
    int rc;

    rc = api_job_path(c, ns, name, id, &c->err);
    if (rc < 0)
        return rc;
    rc = api_query_int(c, "limit", 1, STORE_LIMIT_MAX, STORE_LIMIT_DEFAULT, &limit, &c->err);
    if (rc < 0)
        return rc;
    rc = store_job_get(c->api->opt.store, ns, name, &sj, &c->err);
    if (rc < 0)
        return rc;
    rc = store_job_versions(c->api->opt.store, ns, name, api_query(c, "cursor"), (int)limit, &page,
                            &c->err);
    if (rc < 0)
        goto done;
    items = json_array();
    for (i = 0; items && i < page.n; i++)
        json_array_append_new(items, version_json(page.items[i].version, page.items[i].created_us,
                                                  page.items[i].author, page.items[i].doc_len));
    /* every version is kept, so the newest number is how many there are */
    rc = api_reply_json(c, 200, api_json_list(items, page.next_cursor, sj.latest_version));
done:
    store_version_page_release(&page);
    store_job_release(&sj);
    return rc;
}

int api_job_version(struct api_call *c)
{
    char ns[JOB_NAME_MAX + 1], name[JOB_NAME_MAX + 1], id[ID_LEN];
    struct store_job sj = {0};
    json_error_t jerr;
    json_t *v, *doc;
    int64_t version;
    int rc;

    rc = api_job_path(c, ns, name, id, &c->err);
    if (rc < 0)
        return rc;
    rc = api_param_id(c, 2, "version", &version, &c->err);
    if (rc < 0)
        return rc;
    rc = store_job_get_version(c->api->opt.store, ns, name, version, &sj, &c->err);
    if (rc < 0)
        return rc;
    doc = json_loadb(sj.doc, sj.doc_len, 0, &jerr);
    if (doc && job_doc_redact(doc) < 0) {   /* shown as a view shows it */
        json_decref(doc);
        doc = NULL;
    }
    v = version_json(sj.version, sj.version_us, sj.author, sj.doc_len);
    if (!doc)
        rc = err_set(&c->err, CHIME_EIO, "", "the stored document of %s is not JSON", id);
    else if (json_object_set_new(v, "document", doc) < 0)
        rc = err_set(&c->err, CHIME_ENOMEM, "", "out of memory");
    else
        rc = api_reply_json(c, 200, json_incref(v));
    json_decref(v);
    store_job_release(&sj);
    return rc;
}
