/* SPDX-License-Identifier: Apache-2.0 */
/* `hsmca rotate plan|start|promote|retire|finish`: walks a mount's issuer
 * rotation (root or intermediate) through OpenBao's rotation primitives on a
 * running hsmcad, keeping the workflow's state in an operator-side file.
 *
 * States (docs/rotation.md has the diagram):
 *   idle --start--> overlap --promote--> promoted --retire--> retired --finish--> finished
 *   idle --start --csr-out--> csr-pending --start --certificate--> overlap   (offline-signed intermediate)
 * A step is refused, changing nothing, unless the state file is in the
 * state before it and the daemon still looks as the state file says (the
 * default issuer is the one the workflow expects). retire and finish are also
 * refused while the old issuer has unexpired certificates, whose CRLs and OCSP
 * answers it must keep signing; --force --reason overrides that one check
 * only, and the daemon's audit log records it (X-Hsmca-Rotation header). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "api_client.h"
#include "rotate.h"

#define STATE_FORMAT  "hsmca-rotation/1"
#define STATE_MAX     (1024 * 1024)
#define PATH_TEXT_MAX 512
#define REASON_MAX    200
#define HEADER_MAX    768

typedef struct {
    const char *addr, *token_file, *ca_file, *mount, *state_path, *kind;
    const char *common_name, *issuer_name, *key_name, *key_type, *ttl, *cross_ttl;
    const char *root_mount, *root_issuer, *csr_out, *certificate, *transcript, *reason;
    int key_bits;
    bool force, dry_run;
} rot_opts;

typedef struct {
    rot_opts o;
    char state_buf[PATH_TEXT_MAX];
    cli_api *api;
    json_t *st; /* the state document; NULL: idle (no file) */
    const char *step;
    char header[HEADER_MAX];
} rot;

/* ---- state file ---- */

static const char *st_str(const json_t *st, const char *key)
{
    const char *v = json_string_value(json_object_get(st, key));
    return v ? v : "";
}

static const char *state_name(const rot *r)
{
    return r->st ? st_str(r->st, "state") : "idle";
}

static hsmca_rv state_load(rot *r)
{
    json_error_t e;
    FILE *f = fopen(r->o.state_path, "r");

    if (f == NULL) {
        if (errno == ENOENT)
            return HSMCA_OK; /* idle */
        return hsmca_err(HSMCA_ERR_IO, "--state %s: cannot be read (%s)", r->o.state_path, strerror(errno));
    }
    r->st = json_loadf(f, JSON_REJECT_DUPLICATES, &e);
    fclose(f);
    if (r->st == NULL || !json_is_object(r->st))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "--state %s: not a rotation state file (line %d: %s)",
                         r->o.state_path, e.line, e.text);
    if (strcmp(st_str(r->st, "format"), STATE_FORMAT) != 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "--state %s: format is '%s', expected '%s'", r->o.state_path,
                         st_str(r->st, "format"), STATE_FORMAT);
    if (strcmp(st_str(r->st, "mount"), r->o.mount) != 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "--state %s: records mount '%s', not --mount '%s'",
                         r->o.state_path, st_str(r->st, "mount"), r->o.mount);
    return HSMCA_OK;
}

static void now_text(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Written to a temporary file, synced and renamed over the old one, so a
 * crash leaves the previous state or the new one, never half of one. */
static hsmca_rv state_save(rot *r, const char *new_state)
{
    char tmp[PATH_TEXT_MAX + 8], when[32];
    json_t *hist, *entry;
    int fd;
    FILE *f;

    now_text(when);
    json_object_set_new(r->st, "state", json_string(new_state));
    json_object_set_new(r->st, "updated", json_string(when));
    hist = json_object_get(r->st, "history");
    if (!json_is_array(hist)) {
        hist = json_array();
        json_object_set_new(r->st, "history", hist);
    }
    entry = json_pack("{s:s, s:s, s:s, s:b}", "step", r->step, "state", new_state, "time", when, "forced",
                      r->o.force);
    if (r->o.force && r->o.reason)
        json_object_set_new(entry, "reason", json_string(r->o.reason));
    json_array_append_new(hist, entry);
    snprintf(tmp, sizeof(tmp), "%s.tmp", r->o.state_path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return hsmca_err(HSMCA_ERR_IO, "--state %s: cannot write %s (%s)", r->o.state_path, tmp,
                         strerror(errno));
    f = fdopen(fd, "w");
    if (f == NULL || json_dumpf(r->st, f, JSON_INDENT(2) | JSON_SORT_KEYS) != 0 || fputc('\n', f) == EOF ||
        fflush(f) != 0 || fsync(fd) != 0) {
        if (f)
            fclose(f);
        else
            close(fd);
        unlink(tmp);
        return hsmca_err(HSMCA_ERR_IO, "--state %s: cannot write %s", r->o.state_path, tmp);
    }
    fclose(f);
    if (rename(tmp, r->o.state_path) != 0) {
        unlink(tmp);
        return hsmca_err(HSMCA_ERR_IO, "--state %s: cannot replace it (%s)", r->o.state_path,
                         strerror(errno));
    }
    return HSMCA_OK;
}

/* ---- API calls ---- */

/* One call; a 4xx/5xx answer is an error naming the call and the daemon's
 * message. *data (if given) gets the reply's "data" member (a reference). */
static hsmca_rv call(rot *r, const char *method, const json_t *body, json_t **data, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static hsmca_rv call(rot *r, const char *method, const json_t *body, json_t **data, const char *fmt, ...)
{
    char path[PATH_TEXT_MAX], errs[1024];
    json_t *reply = NULL;
    int status = 0;
    va_list ap;
    hsmca_rv rv;

    if (data)
        *data = NULL;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    rv = cli_api_call(r->api, method, path, body, r->header[0] ? r->header : NULL, &status, &reply);
    if (rv != HSMCA_OK)
        return rv;
    if (status >= 400) {
        cli_api_errors(reply, errs, sizeof(errs));
        json_decref(reply);
        return hsmca_err(status == 404   ? HSMCA_ERR_NOT_FOUND
                         : status >= 500 ? HSMCA_ERR_IO
                                         : HSMCA_ERR_INVALID_ARG,
                         "%s /v1/%s: status %d: %s", method, path, status, errs);
    }
    if (data) {
        json_t *d = json_object_get(reply, "data");
        *data = d ? json_incref(d) : json_object();
    }
    json_decref(reply);
    return HSMCA_OK;
}

static hsmca_rv get_default_issuer(rot *r, char *out, size_t size)
{
    json_t *d = NULL;
    hsmca_rv rv = call(r, "GET", NULL, &d, "%s/config/issuers", r->o.mount);

    if (rv == HSMCA_OK)
        snprintf(out, size, "%s", st_str(d, "default"));
    json_decref(d);
    return rv;
}

static X509 *pem_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    return x;
}

static void asn1_time_text(const ASN1_TIME *t, char out[32])
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(t, &tm) != 1)
        out[0] = '\0';
    else
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- what each step does (printed before it is done, and by plan) ---- */

static const char *const steps[] = {"start", "promote", "retire", "finish"};
/* The state each step needs, and the one it leaves. */
static const char *const step_from[] = {"idle", "overlap", "promoted", "retired"};
static const char *const step_to[] = {"overlap", "promoted", "retired", "finished"};

static bool is_root(const rot *r)
{
    const char *k = r->st ? st_str(r->st, "kind") : (r->o.kind ? r->o.kind : "root");
    return strcmp(k, "root") == 0;
}

static void describe(const rot *r, const char *step)
{
    const char *m = r->o.mount;
    const char *old =
        r->st && st_str(r->st, "old_issuer")[0] ? st_str(r->st, "old_issuer") : "<default issuer>";
    const char *nw = r->st && st_str(r->st, "new_issuer")[0] ? st_str(r->st, "new_issuer") : "<new issuer>";

    if (strcmp(step, "start") == 0 && is_root(r)) {
        printf(
            "  start: a new root key and self-signed root in the token, cross-signed by the old root\n"
            "    GET    /v1/%s/issuer/default                      (the old root, must be self-signed)\n"
            "    POST   /v1/%s/root/rotate/internal                {common_name, key_type, ...}\n"
            "    POST   /v1/%s/intermediate/cross-sign             {common_name, key_ref: <new key_id>}\n"
            "    POST   /v1/%s/issuer/%s/sign-intermediate  {csr, use_csr_values: true, skid, "
            "not_after|ttl}\n"
            "    POST   /v1/%s/issuers/import/cert                 {pem_bundle: <cross-signed certificate>}\n"
            "    PATCH  /v1/%s/issuer/<cross issuer>               {usage: read-only}\n",
            m, m, m, m, old, m, m);
    } else if (strcmp(step, "start") == 0) {
        printf("  start: a new intermediate key in the token and its CSR, signed by the root, imported\n"
               "    GET    /v1/%s/issuer/default                      (the old intermediate)\n"
               "    POST   /v1/%s/intermediate/generate/internal      {common_name, key_type, ...}\n",
               m, m);
        if (r->o.csr_out || (r->st && strcmp(state_name(r), "csr-pending") == 0))
            printf("    (the CSR goes to a file for an offline ceremony: hsmca ceremony run; then\n"
                   "     hsmca rotate start --certificate CERT [--transcript TRANSCRIPT])\n");
        else
            printf("    POST   /v1/%s/issuer/%s/sign-intermediate  {csr, common_name, ttl}\n",
                   r->o.root_mount ? r->o.root_mount : "<root mount>",
                   r->o.root_issuer ? r->o.root_issuer : "default");
        printf(
            "    POST   /v1/%s/intermediate/set-signed             {certificate: <certificate + chain>%s}\n",
            m, r->o.transcript ? ", transcript" : "");
    } else if (strcmp(step, "promote") == 0) {
        printf(
            "  promote: new certificates come from the new issuer; the old one keeps signing CRLs and OCSP\n"
            "    POST   /v1/%s/%s {default: %s}\n"
            "    PATCH  /v1/%s/issuer/%s  {usage: read-only,crl-signing,ocsp-signing}\n",
            m, is_root(r) ? "root/replace   " : "config/issuers ", nw, m, old);
    } else if (strcmp(step, "retire") == 0) {
        printf(
            "  retire: the old issuer stops signing CRLs and OCSP answers (refused while it has unexpired\n"
            "          certificates, unless --force --reason)\n"
            "    GET    /v1/%s/issuer/%s  (has_unexpired_certificates must be false)\n"
            "    PATCH  /v1/%s/issuer/%s  {usage: read-only}\n",
            m, old, m, old);
    } else if (strcmp(step, "finish") == 0) {
        printf("  finish: the old issuer is deleted (its key stays in the token; same refusal as retire)\n"
               "    GET    /v1/%s/issuer/%s  (has_unexpired_certificates must be false)\n"
               "    DELETE /v1/%s/issuer/%s\n",
               m, old, m, old);
    }
}

/* ---- steps ---- */

static hsmca_rv set_header(rot *r)
{
    int n;

    if (r->o.reason) {
        size_t len = strlen(r->o.reason);
        if (len == 0 || len > REASON_MAX)
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "--reason: give 1 to %d characters", REASON_MAX);
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)r->o.reason[i] < 0x20 || r->o.reason[i] == 0x7f)
                return hsmca_err(HSMCA_ERR_INVALID_ARG, "--reason: control characters are not allowed");
    }
    n = snprintf(r->header, sizeof(r->header), "step=%s mount=%s kind=%s old=%s new=%s%s%s%s", r->step,
                 r->o.mount, is_root(r) ? "root" : "intermediate", r->st ? st_str(r->st, "old_issuer") : "-",
                 r->st && st_str(r->st, "new_issuer")[0] ? st_str(r->st, "new_issuer") : "-",
                 r->o.force ? " force=yes reason=\"" : "", r->o.force ? r->o.reason : "",
                 r->o.force ? "\"" : "");
    if (n < 0 || (size_t)n >= sizeof(r->header))
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "the audit header for this step is too long");
    return HSMCA_OK;
}

/* The old issuer must still have certificates' CRLs to sign? */
static hsmca_rv check_not_stranding(rot *r, const char *old)
{
    json_t *d = NULL;
    hsmca_rv rv = call(r, "GET", NULL, &d, "%s/issuer/%s", r->o.mount, old);
    json_t *u;

    if (rv != HSMCA_OK)
        return rv;
    u = json_object_get(d, "has_unexpired_certificates");
    /* A daemon that does not say is taken to have some. */
    if (!json_is_false(u)) {
        json_decref(d);
        if (r->o.force) {
            printf("  --force: issuer %s still has unexpired certificates; going on (reason recorded in the "
                   "audit log: \"%s\")\n",
                   old, r->o.reason);
            return HSMCA_OK;
        }
        return hsmca_err(
            HSMCA_ERR_INVALID_ARG,
            "%s refused: issuer %s still has unexpired certificates, and without it no CRL or OCSP "
            "answer would be signed for them; wait until they expire, "
            "or give --force --reason TEXT (recorded in the audit log)",
            r->step, old);
    }
    json_decref(d);
    return HSMCA_OK;
}

static hsmca_rv new_state_doc(rot *r, const char *old_id)
{
    json_decref(r->st);
    r->st = json_pack("{s:s, s:s, s:s, s:s}", "format", STATE_FORMAT, "mount", r->o.mount, "kind",
                      r->o.kind ? r->o.kind : "root", "old_issuer", old_id);
    return r->st ? HSMCA_OK : hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
}

/* Fields of root/rotate and intermediate/generate from the options. */
static json_t *key_request(const rot *r)
{
    json_t *b = json_pack("{s:s, s:s}", "common_name", r->o.common_name, "key_type", r->o.key_type);

    if (r->o.key_bits)
        json_object_set_new(b, "key_bits", json_integer(r->o.key_bits));
    if (r->o.key_name)
        json_object_set_new(b, "key_name", json_string(r->o.key_name));
    if (r->o.issuer_name)
        json_object_set_new(b, "issuer_name", json_string(r->o.issuer_name));
    if (r->o.ttl)
        json_object_set_new(b, "ttl", json_string(r->o.ttl));
    return b;
}

static hsmca_rv start_root(rot *r, const json_t *old)
{
    json_t *body = NULL, *nd = NULL, *cd = NULL, *sd = NULL, *id = NULL;
    const char *old_id = st_str(old, "issuer_id");
    X509 *old_x = pem_cert(st_str(old, "certificate")), *new_x = NULL;
    char not_after[32], skid[3 * EVP_MAX_MD_SIZE + 1] = "";
    const ASN1_OCTET_STRING *ski;
    hsmca_rv rv = HSMCA_ERR_INVALID_ARG;

    if (old_x == NULL || X509_check_issued(old_x, old_x) != X509_V_OK) {
        hsmca_err(rv,
                  "start refused: the default issuer %s of mount '%s' is not a self-signed root; "
                  "rotate it with --kind intermediate",
                  old_id, r->o.mount);
        goto done;
    }
    if ((rv = new_state_doc(r, old_id)) != HSMCA_OK)
        goto done;
    body = key_request(r);
    if ((rv = call(r, "POST", body, &nd, "%s/root/rotate/internal", r->o.mount)) != HSMCA_OK)
        goto done;
    json_object_set_new(r->st, "new_issuer", json_string(st_str(nd, "issuer_id")));
    json_object_set_new(r->st, "new_key", json_string(st_str(nd, "key_id")));
    printf("  new root issuer %s (key %s)\n", st_str(nd, "issuer_id"), st_str(nd, "key_id"));
    new_x = pem_cert(st_str(nd, "certificate"));
    if (new_x == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "root/rotate answered no readable certificate");
        goto failed;
    }
    /* The cross-signed certificate carries the new root's subject, key and
     * SKI, so one leaf chains to either root; it cannot outlive either. */
    asn1_time_text(ASN1_TIME_compare(X509_get0_notAfter(old_x), X509_get0_notAfter(new_x)) < 0
                       ? X509_get0_notAfter(old_x)
                       : X509_get0_notAfter(new_x),
                   not_after);
    ski = X509_get0_subject_key_id(new_x);
    for (int i = 0, o = 0; ski && i < ASN1_STRING_length(ski) && i < EVP_MAX_MD_SIZE; i++)
        o += snprintf(skid + o, sizeof(skid) - (size_t)o, "%s%02x", i ? ":" : "",
                      ASN1_STRING_get0_data(ski)[i]);
    json_decref(body);
    body = json_pack("{s:s, s:s}", "common_name", r->o.common_name, "key_ref", st_str(nd, "key_id"));
    if ((rv = call(r, "POST", body, &cd, "%s/intermediate/cross-sign", r->o.mount)) != HSMCA_OK)
        goto failed;
    json_decref(body);
    /* The cross-signed certificate is one of the old root's certificates:
     * until it expires, retire is refused (the old root must be able to
     * revoke it). --cross-ttl bounds it to the planned overlap. */
    body = json_pack("{s:s, s:b}", "csr", st_str(cd, "csr"), "use_csr_values", 1);
    if (r->o.cross_ttl)
        json_object_set_new(body, "ttl", json_string(r->o.cross_ttl));
    else
        json_object_set_new(body, "not_after", json_string(not_after));
    if (skid[0])
        json_object_set_new(body, "skid", json_string(skid));
    if ((rv = call(r, "POST", body, &sd, "%s/issuer/%s/sign-intermediate", r->o.mount, old_id)) != HSMCA_OK)
        goto failed;
    json_decref(body);
    body = json_pack("{s:s}", "pem_bundle", st_str(sd, "certificate"));
    if ((rv = call(r, "POST", body, &id, "%s/issuers/import/cert", r->o.mount)) != HSMCA_OK)
        goto failed;
    {
        json_t *imp = json_object_get(id, "imported_issuers");
        const char *cross = json_string_value(json_array_get(imp, 0));
        if (cross == NULL) {
            rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                           "issuers/import/cert imported no issuer for the cross-signed "
                           "certificate");
            goto failed;
        }
        json_object_set_new(r->st, "cross_issuer", json_string(cross));
        json_object_set_new(r->st, "cross_certificate", json_string(st_str(sd, "certificate")));
        json_decref(body);
        /* Only for chain building: the new root itself signs and serves CRLs. */
        body = json_pack("{s:s}", "usage", "read-only");
        if ((rv = call(r, "PATCH", body, NULL, "%s/issuer/%s", r->o.mount, cross)) != HSMCA_OK)
            goto failed;
        printf("  cross-signed issuer %s (the new root's key under the old root)\n", cross);
    }
    rv = state_save(r, "overlap");
    goto done;
failed : {
    hsmca_rv keep = rv;
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", hsmca_err_message());
    json_object_set_new(r->st, "failed_step", json_string("start"));
    state_save(r, "failed");
    rv = hsmca_err(keep,
                   "%s (state 'failed' written to %s: issuers made so far are named there; delete "
                   "them and the state file to start again)",
                   msg, r->o.state_path);
}
done:
    X509_free(old_x);
    X509_free(new_x);
    json_decref(body);
    json_decref(nd);
    json_decref(cd);
    json_decref(sd);
    json_decref(id);
    return rv;
}

static hsmca_rv read_file_text(const char *opt, const char *path, char **out)
{
    FILE *f = fopen(path, "r");
    char *buf;
    size_t n;

    if (f == NULL)
        return hsmca_err(HSMCA_ERR_IO, "%s %s: cannot be read (%s)", opt, path, strerror(errno));
    buf = calloc(1, STATE_MAX + 1);
    n = buf ? fread(buf, 1, STATE_MAX + 1, f) : 0;
    fclose(f);
    if (buf == NULL)
        return hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
    if (n > STATE_MAX) {
        free(buf);
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "%s %s: larger than %d bytes", opt, path, STATE_MAX);
    }
    *out = buf;
    return HSMCA_OK;
}

/* set-signed with the signed certificate (and chain), then the new issuer
 * is the imported one holding the new key. */
static hsmca_rv set_signed(rot *r, const char *bundle, const char *transcript)
{
    json_t *body = json_pack("{s:s}", "certificate", bundle), *d = NULL, *map;
    const char *key = st_str(r->st, "new_key"), *iss;
    json_t *v;
    hsmca_rv rv;

    if (transcript)
        json_object_set_new(body, "transcript", json_string(transcript));
    rv = call(r, "POST", body, &d, "%s/intermediate/set-signed", r->o.mount);
    json_decref(body);
    if (rv != HSMCA_OK)
        return rv;
    map = json_object_get(d, "mapping");
    rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                   "set-signed imported no issuer for the new key %s: is the certificate the one signed for "
                   "this rotation's CSR?",
                   key);
    json_object_foreach(map, iss, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), key) == 0) {
            json_object_set_new(r->st, "new_issuer", json_string(iss));
            printf("  new intermediate issuer %s (key %s)\n", iss, key);
            rv = HSMCA_OK;
            break;
        }
    }
    json_decref(d);
    if (rv == HSMCA_OK && r->o.issuer_name) {
        body = json_pack("{s:s}", "issuer_name", r->o.issuer_name);
        rv = call(r, "PATCH", body, NULL, "%s/issuer/%s", r->o.mount, st_str(r->st, "new_issuer"));
        json_decref(body);
    }
    return rv;
}

static hsmca_rv start_intermediate(rot *r, const json_t *old)
{
    json_t *body = NULL, *gd = NULL, *sd = NULL;
    char *bundle = NULL;
    size_t i;
    json_t *c;
    hsmca_rv rv;

    if ((rv = new_state_doc(r, st_str(old, "issuer_id"))) != HSMCA_OK)
        return rv;
    body = key_request(r);
    json_object_del(body, "issuer_name"); /* named after set-signed */
    json_object_del(body, "ttl");
    if ((rv = call(r, "POST", body, &gd, "%s/intermediate/generate/internal", r->o.mount)) != HSMCA_OK)
        goto done; /* nothing made: no state */
    json_object_set_new(r->st, "new_key", json_string(st_str(gd, "key_id")));
    printf("  new intermediate key %s\n", st_str(gd, "key_id"));
    if (r->o.csr_out) {
        FILE *f = fopen(r->o.csr_out, "wx");
        if (f == NULL || fputs(st_str(gd, "csr"), f) < 0 || fputc('\n', f) == EOF || fclose(f) != 0) {
            rv = hsmca_err(HSMCA_ERR_IO,
                           "--csr-out %s: cannot be written (an existing file is never replaced)",
                           r->o.csr_out);
            goto failed;
        }
        json_object_set_new(r->st, "csr_file", json_string(r->o.csr_out));
        if (r->o.issuer_name)
            json_object_set_new(r->st, "issuer_name", json_string(r->o.issuer_name));
        printf("  CSR written to %s: sign it in an offline ceremony (hsmca ceremony run, kind intermediate\n"
               "  with this csr), then: hsmca rotate start --certificate CERT [--transcript TRANSCRIPT]\n",
               r->o.csr_out);
        rv = state_save(r, "csr-pending");
        goto done;
    }
    json_decref(body);
    body = json_pack("{s:s, s:s}", "csr", st_str(gd, "csr"), "common_name", r->o.common_name);
    if (r->o.ttl)
        json_object_set_new(body, "ttl", json_string(r->o.ttl));
    if ((rv = call(r, "POST", body, &sd, "%s/issuer/%s/sign-intermediate", r->o.root_mount,
                   r->o.root_issuer ? r->o.root_issuer : "default")) != HSMCA_OK)
        goto failed;
    /* The certificate and the chain above it, as set-signed takes them. */
    {
        size_t len = strlen(st_str(sd, "certificate")) + 2;
        json_array_foreach(json_object_get(sd, "ca_chain"), i, c) len +=
            strlen(json_string_value(c) ? json_string_value(c) : "") + 1;
        bundle = calloc(1, len + 1);
        if (bundle == NULL) {
            rv = hsmca_err(HSMCA_ERR_NOMEM, "out of memory");
            goto failed;
        }
        /* Appended with bounded copies into the len + 1 bytes sized above. */
        size_t used = (size_t)snprintf(bundle, len + 1, "%s\n", st_str(sd, "certificate"));
        json_array_foreach(json_object_get(sd, "ca_chain"), i, c)
        {
            const char *p = json_string_value(c);
            if (p && strcmp(p, st_str(sd, "certificate")) != 0 && used < len + 1)
                used += (size_t)snprintf(bundle + used, len + 1 - used, "%s\n", p);
        }
    }
    if ((rv = set_signed(r, bundle, NULL)) != HSMCA_OK)
        goto failed;
    rv = state_save(r, "overlap");
    goto done;
failed : {
    hsmca_rv keep = rv;
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", hsmca_err_message());
    json_object_set_new(r->st, "failed_step", json_string("start"));
    state_save(r, "failed");
    rv = hsmca_err(keep, "%s (state 'failed' written to %s)", msg, r->o.state_path);
}
done:
    free(bundle);
    json_decref(body);
    json_decref(gd);
    json_decref(sd);
    return rv;
}

/* The first certificate of the file must carry the CSR's public key:
 * checked here, so a wrong file is refused before set-signed imports
 * anything into the mount. */
static hsmca_rv cert_matches_csr(const rot *r, const char *cert_pem)
{
    const char *csr_path = st_str(r->st, "csr_file");
    X509 *x = pem_cert(cert_pem);
    X509_REQ *req = NULL;
    EVP_PKEY *ck, *rk;
    FILE *f = fopen(csr_path, "r");
    hsmca_rv rv = HSMCA_OK;

    if (f != NULL) {
        req = PEM_read_X509_REQ(f, NULL, NULL, NULL);
        fclose(f);
    }
    ck = x ? X509_get0_pubkey(x) : NULL;
    rk = req ? X509_REQ_get0_pubkey(req) : NULL;
    if (ck == NULL)
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "--certificate %s: no PEM certificate in it", r->o.certificate);
    else if (rk == NULL)
        rv = hsmca_err(HSMCA_ERR_IO, "the rotation's CSR %s cannot be read (state file %s)", csr_path,
                       r->o.state_path);
    else if (EVP_PKEY_eq(ck, rk) != 1)
        rv = hsmca_err(
            HSMCA_ERR_INVALID_ARG,
            "start refused: the certificate in %s is not for this rotation's CSR %s (its public key "
            "differs); nothing was imported",
            r->o.certificate, csr_path);
    X509_free(x);
    X509_REQ_free(req);
    return rv;
}

/* csr-pending -> overlap: the offline-signed certificate comes back. */
static hsmca_rv start_resume(rot *r)
{
    char *cert = NULL, *transcript = NULL;
    hsmca_rv rv;

    if (r->o.certificate == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "start refused: the rotation of mount '%s' waits for its CSR (%s) to "
                         "be signed; give --certificate CERT [--transcript TRANSCRIPT]",
                         r->o.mount, st_str(r->st, "csr_file"));
    if ((rv = read_file_text("--certificate", r->o.certificate, &cert)) != HSMCA_OK)
        return rv;
    if ((rv = cert_matches_csr(r, cert)) != HSMCA_OK)
        goto done;
    if (r->o.transcript && (rv = read_file_text("--transcript", r->o.transcript, &transcript)) != HSMCA_OK)
        goto done;
    if (!r->o.issuer_name && st_str(r->st, "issuer_name")[0])
        r->o.issuer_name = st_str(r->st, "issuer_name");
    describe(r, "start");
    /* A refused certificate changes nothing: the state stays csr-pending. */
    if ((rv = set_signed(r, cert, transcript)) != HSMCA_OK)
        goto done;
    rv = state_save(r, "overlap");
done:
    free(cert);
    free(transcript);
    return rv;
}

static hsmca_rv do_start(rot *r)
{
    json_t *old = NULL;
    hsmca_rv rv;

    if (r->st && strcmp(state_name(r), "csr-pending") == 0)
        return start_resume(r);
    if (r->o.common_name == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "start: --common-name is required (the new issuer's CN)");
    if (strcmp(r->o.kind, "root") != 0 && strcmp(r->o.kind, "intermediate") != 0)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "--kind '%s' is not one of root, intermediate", r->o.kind);
    if (strcmp(r->o.kind, "intermediate") == 0 && !r->o.root_mount == !r->o.csr_out)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "start --kind intermediate: give exactly one of --root-mount MOUNT "
                         "(signed online) or --csr-out FILE (signed in an offline ceremony)");
    if (strcmp(r->o.kind, "intermediate") == 0 && r->o.cross_ttl)
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "start --kind intermediate: --cross-ttl is for root rotations");
    if (strcmp(r->o.kind, "root") == 0 && (r->o.root_mount || r->o.csr_out))
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "start --kind root: --root-mount and --csr-out are for intermediates");
    if ((rv = call(r, "GET", NULL, &old, "%s/issuer/default", r->o.mount)) != HSMCA_OK)
        return rv;
    printf("  old issuer %s (%s)\n", st_str(old, "issuer_id"),
           st_str(old, "issuer_name")[0] ? st_str(old, "issuer_name") : "no name");
    if (strstr(st_str(old, "usage"), "issuing-certificates") == NULL) {
        rv =
            hsmca_err(HSMCA_ERR_INVALID_ARG, "start refused: the default issuer %s does not issue (usage %s)",
                      st_str(old, "issuer_id"), st_str(old, "usage"));
    } else if (r->o.dry_run) {
        rv = HSMCA_OK;
    } else {
        rv = strcmp(r->o.kind, "root") == 0 ? start_root(r, old) : start_intermediate(r, old);
    }
    json_decref(old);
    return rv;
}

/* The daemon must still look as the state file says. */
static hsmca_rv expect_default(rot *r, const char *want, const char *or_want)
{
    char def[128];
    hsmca_rv rv = get_default_issuer(r, def, sizeof(def));

    if (rv != HSMCA_OK)
        return rv;
    if (strcmp(def, want) != 0 && (or_want == NULL || strcmp(def, or_want) != 0))
        return hsmca_err(
            HSMCA_ERR_INVALID_ARG,
            "%s refused: mount '%s' has default issuer '%s', but this rotation expects '%s' (changed "
            "outside the workflow? check %s)",
            r->step, r->o.mount, def, want, r->o.state_path);
    return HSMCA_OK;
}

static hsmca_rv patch_usage(rot *r, const char *issuer, const char *usage)
{
    json_t *body = json_pack("{s:s}", "usage", usage);
    hsmca_rv rv = call(r, "PATCH", body, NULL, "%s/issuer/%s", r->o.mount, issuer);

    json_decref(body);
    return rv;
}

static hsmca_rv do_promote(rot *r)
{
    const char *old = st_str(r->st, "old_issuer"), *nw = st_str(r->st, "new_issuer");
    char def[128];
    hsmca_rv rv;
    json_t *d = NULL, *body;

    if ((rv = expect_default(r, old, nw)) != HSMCA_OK)
        return rv;
    if ((rv = call(r, "GET", NULL, &d, "%s/issuer/%s", r->o.mount, nw)) != HSMCA_OK)
        return rv;
    if (strstr(st_str(d, "usage"), "issuing-certificates") == NULL)
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "promote refused: the new issuer %s does not issue (usage %s)",
                       nw, st_str(d, "usage"));
    json_decref(d);
    if (rv != HSMCA_OK || r->o.dry_run)
        return rv;
    /* Switch the default first, then take issuing from the old issuer, so
     * a request in between is signed by one of them, never refused. */
    if ((rv = get_default_issuer(r, def, sizeof(def))) != HSMCA_OK)
        return rv;
    if (strcmp(def, nw) != 0) {
        body = json_pack("{s:s}", "default", nw);
        rv = call(r, "POST", body, NULL, "%s/%s", r->o.mount, is_root(r) ? "root/replace" : "config/issuers");
        json_decref(body);
        if (rv != HSMCA_OK)
            return rv;
    }
    printf("  default issuer is now %s\n", nw);
    if ((rv = patch_usage(r, old, "read-only,crl-signing,ocsp-signing")) != HSMCA_OK)
        return rv;
    printf("  old issuer %s: usage read-only,crl-signing,ocsp-signing\n", old);
    return state_save(r, "promoted");
}

static hsmca_rv do_retire(rot *r)
{
    const char *old = st_str(r->st, "old_issuer");
    hsmca_rv rv;

    if ((rv = expect_default(r, st_str(r->st, "new_issuer"), NULL)) != HSMCA_OK ||
        (rv = check_not_stranding(r, old)) != HSMCA_OK || r->o.dry_run)
        return rv;
    if ((rv = patch_usage(r, old, "read-only")) != HSMCA_OK)
        return rv;
    printf("  old issuer %s: usage read-only\n", old);
    return state_save(r, "retired");
}

static hsmca_rv do_finish(rot *r)
{
    const char *old = st_str(r->st, "old_issuer");
    hsmca_rv rv;

    if ((rv = expect_default(r, st_str(r->st, "new_issuer"), NULL)) != HSMCA_OK ||
        (rv = check_not_stranding(r, old)) != HSMCA_OK || r->o.dry_run)
        return rv;
    if ((rv = call(r, "DELETE", NULL, NULL, "%s/issuer/%s", r->o.mount, old)) != HSMCA_OK)
        return rv;
    printf("  old issuer %s deleted (its key stays in the token)\n", old);
    return state_save(r, "finished");
}

static void do_plan(rot *r)
{
    const char *s = state_name(r);
    bool from_here = false;

    printf("rotation of mount '%s' (%s): state %s\n", r->o.mount, is_root(r) ? "root" : "intermediate", s);
    if (r->st) {
        printf("  old issuer:   %s\n", st_str(r->st, "old_issuer"));
        if (st_str(r->st, "new_issuer")[0])
            printf("  new issuer:   %s\n", st_str(r->st, "new_issuer"));
        if (st_str(r->st, "cross_issuer")[0])
            printf("  cross issuer: %s\n", st_str(r->st, "cross_issuer"));
    }
    if (strcmp(s, "finished") == 0 || strcmp(s, "idle") == 0)
        s = "idle";
    if (strcmp(s, "failed") == 0) {
        printf("the step '%s' failed part way: delete the issuers named above and %s, then start again\n",
               st_str(r->st, "failed_step"), r->o.state_path);
        return;
    }
    printf("steps left:\n");
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        if (strcmp(step_from[k], s) == 0 || (k == 0 && strcmp(s, "csr-pending") == 0))
            from_here = true;
        if (from_here)
            describe(r, steps[k]);
    }
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: hsmca rotate plan|start|promote|retire|finish --addr URL --token-file PATH [--ca-cert PEM]\n"
        "         [--mount MOUNT] [--state FILE] [--dry-run]\n"
        "  start:  --kind root|intermediate --common-name CN [--key-type T] [--key-bits N] [--key-name N]\n"
        "          [--issuer-name N] [--ttl D]; roots: [--cross-ttl D]; intermediates: --root-mount M "
        "[--root-issuer REF] or\n"
        "          --csr-out FILE, then (after the ceremony) --certificate FILE [--transcript FILE]\n"
        "  retire, finish: [--force --reason TEXT] (overrides the unexpired-certificates refusal only)\n"
        "  docs/rotation.md has the states and the API calls each step makes.\n");
}

hsmca_rv hsmca_cli_rotate(int argc, char **argv)
{
    enum {
        O_ADDR = 1,
        O_TOKEN_FILE,
        O_CA,
        O_MOUNT,
        O_STATE,
        O_KIND,
        O_CN,
        O_ISSUER_NAME,
        O_KEY_NAME,
        O_KEY_TYPE,
        O_KEY_BITS,
        O_TTL,
        O_CROSS_TTL,
        O_ROOT_MOUNT,
        O_ROOT_ISSUER,
        O_CSR_OUT,
        O_CERT,
        O_TRANSCRIPT,
        O_REASON,
        O_FORCE,
        O_DRY
    };
    static const struct option opts[] = {
        {"addr", required_argument, NULL, O_ADDR},
        {"token-file", required_argument, NULL, O_TOKEN_FILE},
        {"ca-cert", required_argument, NULL, O_CA},
        {"mount", required_argument, NULL, O_MOUNT},
        {"state", required_argument, NULL, O_STATE},
        {"kind", required_argument, NULL, O_KIND},
        {"common-name", required_argument, NULL, O_CN},
        {"issuer-name", required_argument, NULL, O_ISSUER_NAME},
        {"key-name", required_argument, NULL, O_KEY_NAME},
        {"key-type", required_argument, NULL, O_KEY_TYPE},
        {"key-bits", required_argument, NULL, O_KEY_BITS},
        {"ttl", required_argument, NULL, O_TTL},
        {"cross-ttl", required_argument, NULL, O_CROSS_TTL},
        {"root-mount", required_argument, NULL, O_ROOT_MOUNT},
        {"root-issuer", required_argument, NULL, O_ROOT_ISSUER},
        {"csr-out", required_argument, NULL, O_CSR_OUT},
        {"certificate", required_argument, NULL, O_CERT},
        {"transcript", required_argument, NULL, O_TRANSCRIPT},
        {"reason", required_argument, NULL, O_REASON},
        {"force", no_argument, NULL, O_FORCE},
        {"dry-run", no_argument, NULL, O_DRY},
        {NULL, 0, NULL, 0},
    };
    rot r;
    const char *verb;
    size_t k;
    int c;
    hsmca_rv rv;

    memset(&r, 0, sizeof(r));
    r.o.addr = getenv("HSMCA_ADDR");
    /* A path, as HSMCA_PIN_FILE is: the token itself is only ever read from
     * that file (cli_api, secure heap), never from the environment or argv. */
    r.o.token_file = getenv("HSMCA_TOKEN_FILE");
    r.o.mount = "pki";
    r.o.key_type = "ec";
    if (argc < 2) {
        usage(stderr);
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "rotate: give a step: plan, start, promote, retire or finish");
    }
    verb = argv[1];
    /* getopt_long takes unambiguous abbreviations: "--token SECRET" would
     * be read as --token-file and the secret named in an error message.
     * Only whole option names are accepted, and an unknown one is named
     * without its value. */
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        size_t n;
        bool known = false;
        if (strncmp(a, "--", 2) != 0)
            continue;
        n = strcspn(a + 2, "=");
        for (const struct option *o = opts; o->name; o++)
            if (strlen(o->name) == n && strncmp(o->name, a + 2, n) == 0)
                known = true;
        if (!known) {
            usage(stderr);
            return hsmca_err(HSMCA_ERR_INVALID_ARG,
                             "rotate %s: unknown option '--%.*s' (see the usage above)", verb,
                             (int)(n > 40 ? 40 : n), a + 2);
        }
        if (strchr(a, '=') == NULL && i + 1 < argc) {
            /* skip the value of an option that takes one */
            for (const struct option *o = opts; o->name; o++)
                if (strlen(o->name) == n && strncmp(o->name, a + 2, n) == 0 &&
                    o->has_arg == required_argument)
                    i++;
        }
    }
    argc--;
    argv++;
    optind = 0; /* glibc: start over (main's getopt ran before) */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_ADDR:
            r.o.addr = optarg;
            break;
        case O_TOKEN_FILE:
            r.o.token_file = optarg;
            break;
        case O_CA:
            r.o.ca_file = optarg;
            break;
        case O_MOUNT:
            r.o.mount = optarg;
            break;
        case O_STATE:
            r.o.state_path = optarg;
            break;
        case O_KIND:
            r.o.kind = optarg;
            break;
        case O_CN:
            r.o.common_name = optarg;
            break;
        case O_ISSUER_NAME:
            r.o.issuer_name = optarg;
            break;
        case O_KEY_NAME:
            r.o.key_name = optarg;
            break;
        case O_KEY_TYPE:
            r.o.key_type = optarg;
            break;
        case O_KEY_BITS: {
            char *end;
            long b = strtol(optarg, &end, 10);
            if (*end != '\0' || b <= 0 || b > 16384)
                return hsmca_err(HSMCA_ERR_INVALID_ARG, "--key-bits '%s' is not a key size", optarg);
            r.o.key_bits = (int)b;
            break;
        }
        case O_TTL:
            r.o.ttl = optarg;
            break;
        case O_CROSS_TTL:
            r.o.cross_ttl = optarg;
            break;
        case O_ROOT_MOUNT:
            r.o.root_mount = optarg;
            break;
        case O_ROOT_ISSUER:
            r.o.root_issuer = optarg;
            break;
        case O_CSR_OUT:
            r.o.csr_out = optarg;
            break;
        case O_CERT:
            r.o.certificate = optarg;
            break;
        case O_TRANSCRIPT:
            r.o.transcript = optarg;
            break;
        case O_REASON:
            r.o.reason = optarg;
            break;
        case O_FORCE:
            r.o.force = true;
            break;
        case O_DRY:
            r.o.dry_run = true;
            break;
        default:
            usage(stderr);
            return hsmca_err(HSMCA_ERR_INVALID_ARG, "rotate %s: unknown option (see the usage above)", verb);
        }
    }
    if (optind < argc)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "rotate %s: unexpected argument '%s'", verb, argv[optind]);
    if (r.o.force && r.o.reason == NULL)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "--force needs --reason TEXT: the audit log records why");
    if (r.o.reason && !r.o.force)
        return hsmca_err(HSMCA_ERR_INVALID_ARG, "--reason is only for --force");
    if (r.o.state_path == NULL) {
        snprintf(r.state_buf, sizeof(r.state_buf), "hsmca-rotation-%s.json", r.o.mount);
        for (char *p = r.state_buf; *p; p++)
            if (*p == '/')
                *p = '_';
        r.o.state_path = r.state_buf;
    }
    for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
        if (strcmp(verb, steps[k]) == 0)
            break;
    if (k == sizeof(steps) / sizeof(steps[0]) && strcmp(verb, "plan") != 0) {
        usage(stderr);
        return hsmca_err(HSMCA_ERR_INVALID_ARG,
                         "rotate: '%s' is not one of plan, start, promote, retire, finish", verb);
    }
    r.step = verb;
    if ((rv = state_load(&r)) != HSMCA_OK)
        goto done;
    if (r.o.kind == NULL)
        r.o.kind = r.st ? st_str(r.st, "kind") : "root";
    if (r.st && r.o.kind && strcmp(r.o.kind, st_str(r.st, "kind")) != 0 &&
        strcmp(state_name(&r), "finished") != 0) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "--kind %s: the rotation in %s is a %s rotation", r.o.kind,
                       r.o.state_path, st_str(r.st, "kind"));
        goto done;
    }
    if (k == sizeof(steps) / sizeof(steps[0])) {
        do_plan(&r);
        rv = HSMCA_OK;
        goto done;
    }
    /* In order, or refused before anything is asked of the daemon. */
    {
        const char *s = state_name(&r);
        bool ok = strcmp(s, step_from[k]) == 0 ||
                  (k == 0 && (strcmp(s, "finished") == 0 || strcmp(s, "csr-pending") == 0));
        if (!ok) {
            const char *next = "start";
            for (size_t j = 0; j < sizeof(steps) / sizeof(steps[0]); j++)
                if (strcmp(step_from[j], s) == 0)
                    next = steps[j];
            if (strcmp(s, "failed") == 0)
                rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                               "%s refused: the rotation of mount '%s' failed in step '%s'; "
                               "see hsmca rotate plan --state %s",
                               verb, r.o.mount, st_str(r.st, "failed_step"), r.o.state_path);
            else
                rv = hsmca_err(
                    HSMCA_ERR_INVALID_ARG,
                    "%s refused: the rotation of mount '%s' is in state '%s' (%s); the next step is "
                    "'%s', and %s needs state '%s'; nothing was changed",
                    verb, r.o.mount, s, r.o.state_path, next, verb, step_from[k]);
            goto done;
        }
        if (k == 0 && r.st && strcmp(s, "finished") == 0) {
            json_decref(r.st); /* a new rotation */
            r.st = NULL;
        }
    }
    if (r.o.token_file == NULL) {
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG,
                       "no client token: give --token-file PATH or set HSMCA_TOKEN_FILE");
        goto done;
    }
    if ((rv = cli_api_open(r.o.addr, r.o.token_file, r.o.ca_file, &r.api)) != HSMCA_OK ||
        (rv = set_header(&r)) != HSMCA_OK)
        goto done;
    printf("hsmca rotate %s: mount '%s' (%s rotation), state %s -> %s%s\nwill do:\n", verb, r.o.mount,
           is_root(&r) ? "root" : "intermediate", state_name(&r),
           k == 0 && r.o.csr_out ? "csr-pending" : step_to[k],
           r.o.dry_run ? " (dry run: nothing is changed)" : "");
    if (!(k == 0 && r.st && strcmp(state_name(&r), "csr-pending") == 0))
        describe(&r, verb);
    fflush(stdout);
    switch (k) {
    case 0:
        rv = do_start(&r);
        break;
    case 1:
        rv = do_promote(&r);
        break;
    case 2:
        rv = do_retire(&r);
        break;
    default:
        rv = do_finish(&r);
        break;
    }
    if (rv == HSMCA_OK)
        printf("%s: %s\n", r.o.dry_run ? "dry run, nothing changed" : "done",
               r.o.dry_run ? verb : state_name(&r));
done:
    cli_api_free(r.api);
    json_decref(r.st);
    return rv;
}
