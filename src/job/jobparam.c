/* jobparam.c: a job's declared trigger parameters ("params") and the names
 * no parameter may have.
 *
 * A manual trigger may set only the variables its job declares, each
 * value checked against the job's pattern; a run gets each parameter's
 * value from its trigger, else the default, else not at all. A job's own
 * "env" is written by those who may edit the job and may set any name;
 * a parameter is set by whoever may trigger it (an operator), so a name
 * the loader, a shell, an interpreter or chime itself reads as code or as
 * where to find code is never one: forbidden_names below, one row per
 * name or prefix with the reason, compared without regard to case (a
 * lower-case "http_proxy" is read as well as "HTTP_PROXY", and refusing a
 * harmless "path" costs nothing).
 *
 * Patterns are POSIX extended regular expressions (regcomp(3)); the whole
 * value must match, anchored or not: a pattern is compiled as "^(PAT)$"
 * (so an unmatched ')', which glibc takes as a literal, is refused) and
 * the match must span the value. glibc matches without backtracking
 * except for back-references, which are refused; its cost grows with the
 * value's length and the pattern's states, and a bounded repeat
 * ("(a{100}){100}") compiles to as many states as it repeats. So a value
 * is at most VALUE_MAX bytes and a pattern at most PATTERN_WEIGHT_MAX
 * atoms once its repeats are expanded (pattern_weight()): the worst
 * pattern measured against the longest value, "^((a*){250})$" on 1024
 * a's and a "b", takes about 0.1 s; patterns a job needs ("^[0-9]{1,3}$",
 * a date, a UUID) take microseconds. Repeats nested deeper than
 * PATTERN_HEIGHT_MAX ("((((a*)*)*)*b" overflows glibc's stack on 1024
 * a's) and a repeat of a repeat ("a++++", which POSIX leaves undefined
 * and glibc takes minutes over) are refused. */
#include "job/jobdoc.h"

#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "job/job.h"
#include "util/err.h"
#include "../banned.h"

#define DESCRIPTION_MAX 1024
#define PATTERN_MAX 256             /* bytes */
#define PATTERN_WEIGHT_MAX 256      /* atoms once bounded repeats are expanded */
#define PATTERN_DEPTH_MAX 16        /* nested groups */
#define PATTERN_HEIGHT_MAX 2        /* repeats of repeats: "([a-z]+,)*" is 2 */
#define VALUE_MAX 1024              /* bytes of a value (or a default) */

/* ---- the names no parameter may have ---- */

struct forbidden {
    const char *name;
    bool prefix;            /* every name starting with NAME */
    const char *why;
};

static const struct forbidden forbidden_names[] = {
    /* the dynamic loader and the C library */
    { "LD_", true, "the dynamic loader reads it (LD_PRELOAD, LD_AUDIT load code into every program)" },
    { "GCONV_PATH", false, "the C library loads conversion modules from it" },
    { "GLIBC_TUNABLES", false, "the C library reads it at every program's start" },
    { "MALLOC_", true, "the C library's allocator reads it" },
    { "LOCPATH", false, "the C library loads locale files from it" },
    { "NLSPATH", false, "the C library loads message catalogues from it" },
    { "HOSTALIASES", false, "the resolver reads host names to use from it" },
    { "RES_OPTIONS", false, "the resolver reads it" },
    { "LOCALDOMAIN", false, "the resolver reads it" },
    /* shells */
    { "PATH", false, "it chooses which program runs" },
    { "ENV", false, "sh reads and runs the file it names" },
    { "BASH_", true, "bash reads it (BASH_ENV runs a file, BASH_FUNC_* define functions)" },
    { "SHELLOPTS", false, "bash takes shell options from it (xtrace with PS4 runs code)" },
    { "BASHOPTS", false, "bash takes shell options from it" },
    { "PS1", false, "a shell expands it as a prompt (command substitution runs code)" },
    { "PS2", false, "a shell expands it as a prompt (command substitution runs code)" },
    { "PS3", false, "a shell expands it as a prompt (command substitution runs code)" },
    { "PS4", false, "a shell expands it when tracing (command substitution runs code)" },
    { "PROMPT_COMMAND", false, "bash runs it" },
    { "IFS", false, "it changes how a shell splits words" },
    { "CDPATH", false, "it changes where a shell's cd goes" },
    { "GLOBIGNORE", false, "it changes what a shell's globs match" },
    { "FPATH", false, "ksh and zsh load functions from it" },
    { "ZDOTDIR", false, "zsh reads its start-up files from it" },
    { "HOME", false, "programs read their start-up and configuration files from it" },
    { "SHELL", false, "programs run the shell it names" },
    { "XDG_", true, "programs read their configuration from the directories it names" },
    /* programs that run a command a variable names */
    { "EDITOR", false, "programs run the command it names" },
    { "VISUAL", false, "programs run the command it names" },
    { "PAGER", false, "programs run the command it names" },
    { "MANPAGER", false, "man runs the command it names" },
    { "BROWSER", false, "programs run the command it names" },
    { "LESSOPEN", false, "less runs the command it names" },
    { "LESSCLOSE", false, "less runs the command it names" },
    { "GIT_", true, "git reads it (GIT_SSH_COMMAND, GIT_CONFIG_* run commands)" },
    { "SSH_ASKPASS", false, "ssh runs the program it names" },
    { "SUDO_ASKPASS", false, "sudo runs the program it names" },
    { "MAKEFLAGS", false, "make takes options from it (--eval runs code)" },
    { "MAKEFILES", false, "make reads the makefiles it names" },
    { "MFLAGS", false, "make takes options from it" },
    { "CURL_HOME", false, "curl reads its configuration from it" },
    { "WGETRC", false, "wget reads its configuration from it" },
    { "OPENSSL_", true, "OpenSSL loads configuration and engines (code) from it" },
    { "SSLKEYLOGFILE", false, "TLS libraries write session keys to the file it names" },
    /* where traffic goes */
    { "HTTP_PROXY", false, "it sends a program's web traffic elsewhere" },
    { "HTTPS_PROXY", false, "it sends a program's web traffic elsewhere" },
    { "ALL_PROXY", false, "it sends a program's traffic elsewhere" },
    { "FTP_PROXY", false, "it sends a program's traffic elsewhere" },
    { "NO_PROXY", false, "it changes where a program's traffic goes" },
    /* interpreters */
    { "PYTHON", true, "python reads it (PYTHONSTARTUP, PYTHONPATH run code)" },
    { "PERL", true, "perl reads it (PERL5OPT, PERL5LIB run code)" },
    { "RUBY", true, "ruby reads it (RUBYOPT, RUBYLIB run code)" },
    { "GEM_", true, "ruby loads gems from it" },
    { "NODE_", true, "node reads it (NODE_OPTIONS --require runs code)" },
    { "JAVA_TOOL_OPTIONS", false, "the JVM takes options from it (-javaagent runs code)" },
    { "_JAVA_OPTIONS", false, "the JVM takes options from it (-javaagent runs code)" },
    { "JDK_JAVA_OPTIONS", false, "the JVM takes options from it (-javaagent runs code)" },
    { "CLASSPATH", false, "the JVM loads classes from it" },
    { "LUA_", true, "lua reads it (LUA_INIT runs code)" },
    { "PHPRC", false, "php reads its configuration from it" },
    { "PHP_INI_SCAN_DIR", false, "php reads its configuration from it" },
    { "TCLLIBPATH", false, "tcl loads packages from it" },
    { "R_PROFILE", true, "R runs the file it names" },
    { "R_ENVIRON", true, "R reads the file it names" },
    { "R_LIBS", true, "R loads packages from it" },
    { "DOTNET_", true, ".NET reads it (DOTNET_STARTUP_HOOKS runs code)" },
    { "CORECLR_", true, ".NET loads a profiler (code) from it" },
    { "GOFLAGS", false, "go takes options from it (-toolexec runs code)" },
    { "GOENV", false, "go reads its settings from the file it names" },
    { "GOTOOLCHAIN", false, "go downloads and runs the toolchain it names" },
    /* chime */
    { "CHIME_", true, "chime sets it (the run's own variables) or reads it (CHIME_URL, "
                      "CHIME_TOKEN: where a job's chime commands go, with its token)" },
};

/* Why NAME (LEN bytes) may not be a parameter, or NULL when it may. */
static const char *forbidden_why(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof forbidden_names / sizeof forbidden_names[0]; i++) {
        const struct forbidden *f = &forbidden_names[i];
        size_t n = strlen(f->name);

        if ((f->prefix ? len >= n : len == n) && strncasecmp(name, f->name, n) == 0)
            return f->why;
    }
    return NULL;
}

/* A variable's name as a job's env allows it, and not one forbidden. */
static int check_name(const char *name, size_t len, const char *path, struct err *err)
{
    char q[JOB_QUOTE_LEN];
    const char *why;
    int rc;

    if ((rc = job_check_env_key(name, len, path, err)) < 0)
        return rc;
    if ((why = forbidden_why(name, len)))
        return err_set(err, CHIME_EINVAL, path, "'%s' may not be a parameter: %s",
                       err_quote(name, len, q, sizeof q), why);
    return 0;
}

/* ---- patterns ---- */

/* The atoms PAT (LEN bytes) may expand to, a bound {m,n} multiplying what
 * it repeats by its largest count, into *RET (stopping past
 * PATTERN_WEIGHT_MAX); -1 with *RET_WHY for a back-reference, an unmatched
 * ')', groups nested too deep, repeats nested too deep or a repeat of a
 * repeat. What regcomp() would refuse anyway is counted loosely. */
static int pattern_weight(const char *p, size_t len, uint64_t *ret, const char **ret_why)
{
    uint64_t sum[PATTERN_DEPTH_MAX + 1] = { 0 }, last[PATTERN_DEPTH_MAX + 1] = { 0 };
    /* the repeats nested in the last atom, and in any atom of the group */
    unsigned height[PATTERN_DEPTH_MAX + 1] = { 0 }, top[PATTERN_DEPTH_MAX + 1] = { 0 };
    size_t depth = 0, i = 0;
    bool repeat = false;            /* the token before was a repeat */

    while (i < len) {
        uint64_t atom = 1;
        unsigned atom_height = 0;
        char c = p[i];

        if (strchr("*+?{", c)) {
            if (repeat) {
                *ret_why = "repeats a repeat (as in 'a**' or 'a+{2}')";
                return -1;
            }
            if (++height[depth] > PATTERN_HEIGHT_MAX) {
                *ret_why = "nests repeats more than 2 deep (as in '((a*)*)*')";
                return -1;
            }
            top[depth] = height[depth] > top[depth] ? height[depth] : top[depth];
        }
        repeat = strchr("*+?{", c) != NULL;

        if (c == '\\') {
            if (i + 1 < len && p[i + 1] >= '1' && p[i + 1] <= '9') {
                *ret_why = "has a back-reference (matching one may take exponential time)";
                return -1;
            }
            i += 2;
        } else if (c == '[') {
            /* a bracket expression: "]" first is a member; "[:", "[." and
             * "[=" open classes that end with ":]", ".]" and "=]" */
            size_t j = i + 1;

            j += j < len && p[j] == '^';
            j += j < len && p[j] == ']';
            while (j < len && p[j] != ']') {
                if (p[j] == '[' && j + 1 < len && strchr(":.=", p[j + 1])) {
                    const char end[3] = { p[j + 1], ']', '\0' };
                    const char *e = memmem(p + j + 2, len - j - 2, end, 2);

                    j = e ? (size_t)(e - p) + 2 : len;
                } else {
                    j++;
                }
            }
            i = j + 1;
        } else if (c == '(') {
            if (++depth > PATTERN_DEPTH_MAX) {
                *ret_why = "nests groups too deep";
                return -1;
            }
            sum[depth] = last[depth] = 0;
            height[depth] = top[depth] = 0;
            i++;
            continue;
        } else if (c == ')' && depth == 0) {
            *ret_why = "has an unmatched ')' (write '\\)' for the character)";
            return -1;
        } else if (c == ')') {
            atom = sum[depth] ? sum[depth] : 1;
            atom_height = top[depth];
            depth--;
            i++;
        } else if (c == '{') {
            /* {m}, {m,n} or {m,}: the count is the largest of them (m + 1
             * for {m,}: what is past m repeats like a "*") */
            uint64_t count[2] = { 0, 0 };
            bool comma = false, digits_after = false;

            for (i++; i < len && p[i] != '}'; i++) {
                uint64_t *x = &count[comma];

                if (p[i] == ',')
                    comma = true;
                else if (p[i] >= '0' && p[i] <= '9' && *x < 100000)
                    *x = *x * 10 + (uint64_t)(p[i] - '0');
                digits_after |= comma && p[i] != ',';
            }
            i++;
            uint64_t n = !comma ? count[0] : digits_after ? count[1] : count[0] + 1;
            if (n > 1) {
                sum[depth] += last[depth] * (n - 1);
                last[depth] *= n;
            }
            atom = 0;
        } else if (strchr("*+?", c)) {
            atom = 0;
            i++;
        } else if (c == '|') {
            atom = 0;
            height[depth] = 0;
            i++;
        } else {
            i++;
        }
        if (atom) {
            sum[depth] += atom;
            last[depth] = atom;
            height[depth] = atom_height;
            top[depth] = atom_height > top[depth] ? atom_height : top[depth];
        }
        if (sum[depth] > PATTERN_WEIGHT_MAX)
            break;
    }
    *ret = 0;
    for (size_t d = 0; d <= depth; d++)
        *ret += sum[d];
    return 0;
}

/* Compiles PAT (a C string of LEN bytes) into RE as "^(PAT)$", refusing
 * what pattern_weight() does. The caller regfree()s RE on success. */
static int pattern_compile(const char *pat, size_t len, const char *path, regex_t *re,
                           struct err *err)
{
    char q[JOB_QUOTE_LEN], why[128], whole[PATTERN_MAX + 8];
    const char *bad = NULL;
    uint64_t weight = 0;
    int rc;

    err_quote(pat, len, q, sizeof q);
    if (len == 0)
        return err_set(err, CHIME_EINVAL, path, "'' is empty: want a regular expression");
    if (pattern_weight(pat, len, &weight, &bad) < 0)
        return err_set(err, CHIME_EINVAL, path, "'%s' %s", q, bad);
    if (weight > PATTERN_WEIGHT_MAX)
        return err_set(err, CHIME_ETOOBIG, path,
                       "'%s' is too complex: its repeats expand to more than %d atoms", q,
                       PATTERN_WEIGHT_MAX);
    if (len > PATTERN_MAX)
        return err_set(err, CHIME_ETOOBIG, path, "'%s' is longer than %d bytes", q, PATTERN_MAX);
    /* the pattern as written first, so that its faults are reported as
     * its own, then whole */
    if ((rc = regcomp(re, pat, REG_EXTENDED)) == 0) {
        regfree(re);
        snprintf(whole, sizeof whole, "^(%s)$", pat);
        rc = regcomp(re, whole, REG_EXTENDED);
    }
    if (rc != 0) {
        regerror(rc, re, why, sizeof why);
        regfree(re);
        return err_set(err, CHIME_EINVAL, path,
                       "'%s' is not a POSIX extended regular expression (%s)", q, why);
    }
    return 0;
}

/* Whether the whole of VALUE (LEN bytes, no NUL) matches RE: it is
 * anchored, and the match spanning the value says so whatever glibc made
 * of the pattern. */
static bool pattern_matches(const regex_t *re, const char *value, size_t len)
{
    regmatch_t m[1];

    return regexec(re, value, 1, m, 0) == 0 && m[0].rm_so == 0 && (size_t)m[0].rm_eo == len;
}

/* A value for a parameter (a default or a trigger's) at PATH: a string of
 * at most VALUE_MAX bytes of UTF-8 without NUL, matching PARAM's pattern. */
static int check_value(const struct job_param *param, const json_t *v, const char *path,
                       const char **ret, struct err *err)
{
    char q[JOB_QUOTE_LEN], pq[JOB_QUOTE_LEN];
    const char *s;
    size_t len;
    regex_t re;
    bool ok;
    int rc;

    if ((rc = job_read_string(v, path, VALUE_MAX, &s, &len, err)) < 0)
        return rc;
    if ((rc = pattern_compile(param->pattern, strlen(param->pattern), path, &re, err)) < 0)
        return rc;
    ok = pattern_matches(&re, s, len);
    regfree(&re);
    if (!ok)
        return err_set(err, CHIME_EINVAL, path, "'%s' does not match the pattern '%s'",
                       err_quote(s, len, q, sizeof q),
                       err_quote(param->pattern, strlen(param->pattern), pq, sizeof pq));
    *ret = s;
    return 0;
}

/* ---- the "params" member ---- */

/* The members of one param, as job_fields("params") describes them; the
 * reader below reads each by name. */
static const struct job_field param_fields[] = {
    { "pattern", JOB_FIELD_STRING, JOB_FIELD_REQUIRED, .max = PATTERN_MAX,
      .doc = "a POSIX extended regular expression, without back-references" },
    { "default", JOB_FIELD_STRING, JOB_FIELD_NULL, .max = VALUE_MAX,
      .doc = "the value of a run not given one; null: the variable is unset" },
    { "description", JOB_FIELD_STRING, JOB_FIELD_NULL, .max = DESCRIPTION_MAX },
};
#define N_PARAM_FIELDS (sizeof param_fields / sizeof param_fields[0])

int job_params_fields(struct job_field *ret, size_t max)
{
    for (size_t i = 0; i < N_PARAM_FIELDS && i < max; i++)
        ret[i] = param_fields[i];
    return (int)N_PARAM_FIELDS;
}

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const struct job_param *)a)->name, ((const struct job_param *)b)->name);
}

static bool in_env(const struct job_body *b, const char *name)
{
    for (size_t i = 0; i < b->n_env; i++)
        if (strcmp(b->env[i].key, name) == 0)
            return true;
    return false;
}

/* One parameter NAME (LEN bytes) declared by V at PATH into P. */
static int read_param(const json_t *v, const char *name, size_t len, const char *path,
                      struct job_reader *r, struct job_param *p)
{
    char sub[JOB_PATH_LEN], q[JOB_QUOTE_LEN];
    struct job_body *b = r->j->body;
    const json_t *member;
    const char *key, *s;
    const char *known[N_PARAM_FIELDS];
    size_t key_len, n = N_PARAM_FIELDS;
    regex_t re;
    json_t *x;
    int rc;

    if ((rc = check_name(name, len, path, r->err)) < 0)
        return rc;
    if (in_env(b, name))
        return err_set(r->err, CHIME_EINVAL, path,
                       "'%s' is also in env: a variable has one value (leave it out of one)",
                       err_quote(name, len, q, sizeof q));
    if (!json_is_object(v))
        return job_type_error(v, path, "an object with a pattern", r->err);
    json_object_keylen_foreach((json_t *)v, key, key_len, x) {
        size_t i;

        if ((rc = job_check_key(key, key_len, path, r->err)) < 0)
            return rc;
        for (i = 0; i < n && !(strlen(param_fields[i].key) == key_len
                               && memcmp(param_fields[i].key, key, key_len) == 0); i++)
            ;
        if (i < n)
            continue;
        for (i = 0; i < n; i++)
            known[i] = param_fields[i].key;
        return job_unknown_field(job_path(sub, sizeof sub, path, key, key_len), key,
                                 key_len, known, n, r->err);
    }
    if (!(p->name = strdup(name)))
        return job_no_memory(path, r->err);
    job_path(sub, sizeof sub, path, "pattern", 7);
    member = json_object_get(v, "pattern");
    if (!member || json_is_null(member))
        return job_missing(sub, r->err);
    if ((rc = job_dup_string(member, sub, PATTERN_MAX, false, &p->pattern, r->err)) < 0)
        return rc;
    if ((rc = pattern_compile(p->pattern, strlen(p->pattern), sub, &re, r->err)) < 0)
        return rc;
    regfree(&re);
    job_path(sub, sizeof sub, path, "description", 11);
    member = json_object_get(v, "description");
    if (member && !json_is_null(member)
        && (rc = job_dup_string(member, sub, DESCRIPTION_MAX, false, &p->description,
                                r->err)) < 0)
        return rc;
    job_path(sub, sizeof sub, path, "default", 7);
    member = json_object_get(v, "default");
    if (member && !json_is_null(member)) {
        if ((rc = check_value(p, member, sub, &s, r->err)) < 0)
            return rc;
        if (!(p->def = strdup(s)))
            return job_no_memory(sub, r->err);
    }
    return 0;
}

int job_params_read(const json_t *v, const char *path, struct job_reader *r)
{
    char sub[JOB_PATH_LEN];
    struct job_body *b = r->j->body;
    const char *key;
    size_t key_len, n;
    json_t *x;
    int rc;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return job_type_error(v, path, "an object of parameters", r->err);
    if ((n = json_object_size(v)) > JOB_PARAMS_MAX)
        return err_set(r->err, CHIME_ETOOBIG, path, "%zu parameters are more than %d", n,
                       JOB_PARAMS_MAX);
    if (n == 0)
        return 0;
    if (!(b->params = calloc(n, sizeof *b->params)))
        return job_no_memory(path, r->err);
    json_object_keylen_foreach((json_t *)v, key, key_len, x) {
        if ((rc = job_check_key(key, key_len, path, r->err)) < 0)
            return rc;
        job_path(sub, sizeof sub, path, key, key_len);
        /* counted first: what read_param() filled is freed with the body */
        rc = read_param(x, key, key_len, sub, r, &b->params[b->n_params++]);
        if (rc < 0)
            return rc;
    }
    qsort(b->params, b->n_params, sizeof *b->params, cmp_param);
    return 0;
}

int job_params_write(const struct job *j, json_t *obj, const char *key)
{
    const struct job_body *b = j->body;
    json_t *o = json_object();

    for (size_t i = 0; o && i < b->n_params; i++) {
        const struct job_param *p = &b->params[i];
        json_t *one = json_pack("{s:s, s:o, s:o}", "pattern", p->pattern, "default",
                                p->def ? json_string(p->def) : json_null(), "description",
                                p->description ? json_string(p->description) : json_null());

        if (json_object_set_new(o, p->name, one) < 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return json_object_set_new(obj, key, o);
}

void job_params_free(struct job_param *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].pattern);
        free(p[i].def);
        free(p[i].description);
    }
    free(p);
}

/* ---- a trigger's values ---- */

static const struct job_param *find_param(const struct job_body *b, const char *name)
{
    struct job_param key = { .name = (char *)name };

    return bsearch(&key, b->params, b->n_params, sizeof *b->params, cmp_param);
}

int job_params_resolve(const struct job_body *b, const json_t *given, const char **ret,
                       struct err *err)
{
    char path[JOB_PATH_LEN], q[JOB_QUOTE_LEN];
    const char *key;
    size_t key_len;
    json_t *v;
    int rc;

    if (given && !json_is_object(given))
        return job_type_error(given, "params", "an object of strings", err);
    json_object_keylen_foreach((json_t *)given, key, key_len, v) {
        const struct job_param *p;
        const char *why;

        if ((rc = job_check_key(key, key_len, "params", err)) < 0)
            return rc;
        job_path(path, sizeof path, "params", key, key_len);
        err_quote(key, key_len, q, sizeof q);
        if (!(p = find_param(b, key)) && (why = forbidden_why(key, key_len)))
            return err_set(err, CHIME_EINVAL, path, "'%s' may never be set by a trigger: %s", q,
                           why);
        if (!p)
            return err_set(err, CHIME_EINVAL, path,
                           "'%s' is not a parameter of this job: a trigger sets only the "
                           "job's declared params",
                           q);
        if ((rc = check_value(p, v, path, &ret[p - b->params], err)) < 0)
            return rc;
    }
    for (size_t i = 0; i < b->n_params; i++)
        if (!json_object_get(given, b->params[i].name))
            ret[i] = b->params[i].def;
    return 0;
}
