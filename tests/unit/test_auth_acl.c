/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for policies and ACL evaluation in src/auth against a real
 * store: a table of requests, each citing the OpenBao policy rule it checks
 * (exact vs glob, '+' segments, the priority order, deny, several policies,
 * sudo, list vs read, root, default), capabilities-self answers, policy
 * CRUD with the built-ins' rules, and that a policy write takes effect on
 * the next request despite the compiled-ACL cache. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsmca/auth.h"
#include "unit_util.h"

typedef struct {
    char dir[512];
    char path[600];
    hsmca_store *st;
    hsmca_auth *a;
} fixture;

/* The policies the table refers to, in OpenBao's JSON policy form. */
static const struct {
    const char *name;
    const char *text;
} policies[] = {
    {"p-exact", "{\"path\": {"
                "\"pki/issue/web\": {\"capabilities\": [\"update\"]},"
                "\"pki/roles\": {\"capabilities\": [\"list\"]},"
                "\"kv/data/p\": {\"capabilities\": [\"patch\"]},"
                "\"/lead/path\": {\"capabilities\": [\"read\"]}}}"},
    {"p-glob", "{\"path\": {"
               "\"pki/*\": {\"capabilities\": [\"read\"]},"
               "\"pki/issue/*\": {\"capabilities\": [\"create\"]},"
               "\"kv/data/app*\": {\"capabilities\": [\"read\"]}}}"},
    {"p-plus", "{\"path\": {"
               "\"team/+/config\": {\"capabilities\": [\"read\"]},"
               "\"team/+/+/secret\": {\"capabilities\": [\"update\"]},"
               "\"team/+/logs/*\": {\"capabilities\": [\"list\"]},"
               "\"+/public\": {\"capabilities\": [\"read\"]}}}"},
    {"p-prio", "{\"path\": {"
               "\"a/b/c\": {\"capabilities\": [\"delete\"]},"
               "\"a/b/*\": {\"capabilities\": [\"read\"]},"
               "\"a/+/c\": {\"capabilities\": [\"update\"]},"
               "\"a/*\": {\"capabilities\": [\"list\"]},"
               "\"a/+/*\": {\"capabilities\": [\"create\"]},"
               "\"r/s/+\": {\"capabilities\": [\"read\"]},"
               "\"r/+/t\": {\"capabilities\": [\"update\"]},"
               "\"w/x*\": {\"capabilities\": [\"read\"]},"
               "\"w/+/y\": {\"capabilities\": [\"update\"]},"
               "\"q/+/r\": {\"capabilities\": [\"read\"]},"
               "\"q/+/*\": {\"capabilities\": [\"update\"]},"
               "\"m/+/n/o\": {\"capabilities\": [\"read\"]},"
               "\"m/+/+/o\": {\"capabilities\": [\"update\"]},"
               "\"s/+/abc*\": {\"capabilities\": [\"read\"]},"
               "\"s/+/ab*\": {\"capabilities\": [\"update\"]},"
               "\"x/+/y/+\": {\"capabilities\": [\"read\"]},"
               "\"x/+/+/z\": {\"capabilities\": [\"update\"]}}}"},
    {"p-deny", "{\"path\": {"
               "\"pki/issue/web\": {\"capabilities\": [\"deny\"]},"
               "\"secret/*\": {\"capabilities\": [\"deny\"]},"
               "\"secret/open\": {\"capabilities\": [\"read\"]},"
               "\"sys/audit/*\": {\"capabilities\": [\"deny\"]}}}"},
    {"p-multi1", "{\"path\": {"
                 "\"shared/path\": {\"capabilities\": [\"read\"]},"
                 "\"shared/*\": {\"capabilities\": [\"list\"]}}}"},
    {"p-multi2", "{\"path\": {"
                 "\"shared/path\": {\"capabilities\": [\"update\"]},"
                 "\"other/*\": {\"capabilities\": [\"read\", \"deny\"]}}}"},
    {"p-sudo", "{\"path\": {"
               "\"sys/audit/*\": {\"capabilities\": [\"update\", \"sudo\"]},"
               "\"sys/mounts\": {\"capabilities\": [\"read\"]},"
               "\"auth/token/accessors/\": {\"capabilities\": [\"list\", \"sudo\"]}}}"},
    {"p-list", "{\"path\": {"
               "\"pki/certs/\": {\"capabilities\": [\"list\"]},"
               "\"pki/certs\": {\"capabilities\": [\"read\"]},"
               "\"kv/metadata/*\": {\"capabilities\": [\"list\"]}}}"},
    {"p-legacy", "{\"path\": {\"old/*\": {\"policy\": \"write\"}}}"},
    {"p-empty", "{\"path\": {\"pki/cert/ca\": {\"capabilities\": []}}}"},
    {"p-star", "{\"path\": {\"*\": {\"capabilities\": [\"read\"]}}}"},
};

#define C_CREATE HSMCA_CAP_CREATE
#define C_READ HSMCA_CAP_READ
#define C_UPDATE HSMCA_CAP_UPDATE
#define C_PATCH HSMCA_CAP_PATCH
#define C_DELETE HSMCA_CAP_DELETE
#define C_LIST HSMCA_CAP_LIST
#define SUDO HSMCA_AUTH_NEED_SUDO

typedef struct {
    const char *policies; /* comma-separated */
    const char *path;
    unsigned cap;
    unsigned flags;
    bool allowed;
    const char *rule; /* the OpenBao rule this case checks */
} acl_case;

static const acl_case cases[] = {
    /* exact paths */
    {"p-exact", "pki/issue/web", C_UPDATE, 0, true, "exact path: its capabilities apply"},
    {"p-exact", "pki/issue/web", C_READ, 0, false, "exact path: only the listed capabilities"},
    {"p-exact", "pki/issue/web2", C_UPDATE, 0, false, "exact path does not match a longer path"},
    {"p-exact", "pki/issue", C_UPDATE, 0, false, "exact path does not match a shorter path"},
    {"p-exact", "PKI/issue/web", C_UPDATE, 0, false, "paths are case-sensitive"},
    {"p-exact", "pki/roles/", C_LIST, 0, true, "LIST of 'dir/' also matches the exact rule 'dir'"},
    {"p-exact", "pki/roles", C_LIST, 0, true, "exact path for LIST"},
    {"p-exact", "pki/roles/", C_READ, 0, false, "the trailing-slash fallback is for LIST only"},
    {"p-exact", "kv/data/p", C_PATCH, 0, true, "patch is its own capability"},
    {"p-exact", "kv/data/p", C_UPDATE, 0, false, "patch does not grant update"},
    {"p-exact", "lead/path", C_READ, 0, true, "a leading '/' in a policy path is dropped"},
    /* globs */
    {"p-glob", "pki/cert/ca", C_READ, 0, true, "trailing '*' is a prefix glob"},
    {"p-glob", "pki/", C_READ, 0, true, "a glob matches an empty remainder"},
    {"p-glob", "pki", C_READ, 0, false, "'pki/*' does not match 'pki' itself"},
    {"p-glob", "pkix/foo", C_READ, 0, false, "the prefix is matched in full, slash included"},
    {"p-glob", "pki/issue/web", C_CREATE, 0, true, "the longer glob has its '*' later: higher priority"},
    {"p-glob", "pki/issue/web", C_READ, 0, false, "only the highest-priority match counts: not merged"},
    {"p-glob", "kv/data/application", C_READ, 0, true, "a glob may end inside a segment"},
    {"p-glob", "kv/data/app/deep/x", C_READ, 0, true, "a glob crosses segment boundaries"},
    {"p-glob", "kv/data/ap", C_READ, 0, false, "a path shorter than the glob's prefix"},
    /* '+' segments */
    {"p-plus", "team/blue/config", C_READ, 0, true, "'+' matches one segment"},
    {"p-plus", "team/blue/green/config", C_READ, 0, false, "'+' matches exactly one segment"},
    {"p-plus", "team/blue/config/x", C_READ, 0, false, "without a glob the segment count must agree"},
    {"p-plus", "team//config", C_READ, 0, true, "'+' matches an empty segment"},
    {"p-plus", "team/a/b/secret", C_UPDATE, 0, true, "several '+' segments"},
    {"p-plus", "team/a/secret", C_UPDATE, 0, false, "two '+' need two segments"},
    {"p-plus", "team/a/logs/2024/01", C_LIST, 0, true, "'+' with a trailing glob matches deeper paths"},
    {"p-plus", "team/a/logs/", C_LIST, 0, true, "'+' with a glob: empty remainder"},
    {"p-plus", "team/a/logs", C_LIST, 0, false, "'team/+/logs/*' needs the slash after logs"},
    {"p-plus", "anything/public", C_READ, 0, true, "'+' as the first segment"},
    {"p-plus", "a/b/public", C_READ, 0, false, "a leading '+' is still one segment"},
    /* priority between matching rules */
    {"p-prio", "a/b/c", C_DELETE, 0, true, "an exact rule wins over every glob"},
    {"p-prio", "a/b/c", C_READ, 0, false, "with an exact match globs are not consulted"},
    {"p-prio", "a/b/d", C_READ, 0, true, "rule 1: the wildcard/glob that comes latest wins ('a/b/*')"},
    {"p-prio", "a/b/d", C_CREATE, 0, false, "rule 1: lower-priority 'a/+/*' is not merged in"},
    {"p-prio", "a/x/c", C_UPDATE, 0, true, "rule 2: a rule ending in '*' loses to one that does not"},
    {"p-prio", "a/x/c", C_LIST, 0, false, "rule 2: 'a/*' loses to 'a/+/c'"},
    {"p-prio", "a/x/d", C_LIST, 0, true, "rule 3: fewer '+' segments win ('a/*' over 'a/+/*')"},
    {"p-prio", "a/x/d", C_CREATE, 0, false, "rule 3: 'a/+/*' loses"},
    {"p-prio", "a/x", C_LIST, 0, true, "'a/+/*' needs three segments; 'a/*' matches"},
    {"p-prio", "r/s/t", C_READ, 0, true, "rule 1: '+' at offset 4 beats '+' at offset 2"},
    {"p-prio", "r/s/t", C_UPDATE, 0, false, "rule 1: 'r/+/t' loses"},
    {"p-prio", "w/x/y", C_READ, 0, true, "rule 1: glob at offset 3 beats '+' at offset 2"},
    {"p-prio", "w/x/y", C_UPDATE, 0, false, "rule 1: 'w/+/y' loses"},
    {"p-prio", "q/1/r", C_READ, 0, true, "rule 2: 'q/+/r' beats 'q/+/*'"},
    {"p-prio", "q/1/r", C_UPDATE, 0, false, "rule 2: 'q/+/*' loses"},
    {"p-prio", "m/1/n/o", C_READ, 0, true, "rule 3: one '+' beats two"},
    {"p-prio", "m/1/n/o", C_UPDATE, 0, false, "rule 3: 'm/+/+/o' loses"},
    {"p-prio", "s/1/abcd", C_READ, 0, true, "rule 4: the longer pattern wins"},
    {"p-prio", "s/1/abcd", C_UPDATE, 0, false, "rule 4: the shorter 's/+/ab*' loses"},
    {"p-prio", "x/1/y/z", C_READ, 0, true, "rule 5: lexicographically larger wins ('x/+/y/+')"},
    {"p-prio", "x/1/y/z", C_UPDATE, 0, false, "rule 5: 'x/+/+/z' loses"},
    /* deny */
    {"p-deny", "pki/issue/web", C_UPDATE, 0, false, "deny"},
    {"p-exact,p-deny", "pki/issue/web", C_UPDATE, 0, false, "deny in any policy wins on the same path"},
    {"p-deny,p-exact", "pki/issue/web", C_UPDATE, 0, false, "the merge does not depend on order"},
    {"p-deny", "secret/open", C_READ, 0, true, "deny wins per path: a more specific rule is chosen first"},
    {"p-deny", "secret/other", C_READ, 0, false, "a denying glob"},
    {"p-deny,p-star", "secret/x", C_READ, 0, false, "the higher-priority denying glob wins over '*'"},
    {"p-star", "anything/at/all", C_READ, 0, true, "'*' matches every path"},
    {"p-multi2", "other/x", C_READ, 0, false, "deny beside other capabilities leaves deny alone"},
    {"p-sudo,p-deny", "sys/audit/file", C_UPDATE, SUDO, false, "deny takes sudo away too"},
    /* several policies */
    {"p-multi1,p-multi2", "shared/path", C_READ, 0, true, "same path in two policies: capabilities add up"},
    {"p-multi1,p-multi2", "shared/path", C_UPDATE, 0, true, "same path in two policies: capabilities add up"},
    {"p-multi1", "shared/path", C_UPDATE, 0, false, "one policy alone does not grant the other's"},
    {"p-multi1,p-multi2", "shared/other", C_LIST, 0, true, "globs of one policy serve other paths"},
    {"p-multi1,p-multi2", "shared/path", C_LIST, 0, false, "the merged exact rule hides 'shared/*'"},
    {"p-exact,p-glob", "pki/issue/web", C_CREATE, 0, false, "an exact rule of one policy hides another's globs"},
    {"p-exact,p-glob", "pki/issue/web", C_UPDATE, 0, true, "the exact rule's capabilities"},
    {"p-glob,p-empty", "pki/cert/ca", C_READ, 0, false, "an exact rule with no capabilities blocks globs"},
    {"p-glob", "pki/cert/ca", C_READ, 0, true, "(control for the case above)"},
    {"no-such-policy", "pki/x", C_READ, 0, false, "an unknown policy grants nothing"},
    {"p-glob,no-such-policy", "pki/x", C_READ, 0, true, "an unknown policy is ignored"},
    {"", "pki/x", C_READ, 0, false, "no policies: deny by default"},
    /* sudo */
    {"p-sudo", "sys/audit/file", C_UPDATE, SUDO, true, "sudo opens a root-protected path"},
    {"p-sudo", "sys/audit/file", C_UPDATE, 0, true, "sudo is extra, not needed elsewhere"},
    {"p-sudo", "sys/mounts", C_READ, SUDO, false, "a root-protected path needs sudo"},
    {"p-sudo", "sys/mounts", C_READ, 0, true, "the same capability without the sudo route"},
    {"p-sudo", "auth/token/accessors/", C_LIST, SUDO, true, "LIST with sudo"},
    {"p-sudo", "sys/audit/file", C_READ, 0, false, "sudo is not read"},
    {"p-legacy", "old/x", C_UPDATE, SUDO, false, "old 'write' does not include sudo"},
    /* list vs read */
    {"p-list", "pki/certs/", C_LIST, 0, true, "list"},
    {"p-list", "pki/certs/", C_READ, 0, false, "list does not grant read"},
    {"p-list", "pki/certs", C_READ, 0, true, "'pki/certs' and 'pki/certs/' are separate rules"},
    {"p-list", "kv/metadata/app/", C_LIST, 0, true, "list through a glob"},
    {"p-list", "kv/metadata/app", C_READ, 0, false, "list glob does not grant read"},
    {"p-glob", "pki/certs/", C_LIST, 0, false, "read does not grant list"},
    /* root */
    {"root", "anything/at/all", C_DELETE, SUDO, true, "the root policy allows everything"},
    {"root,p-deny", "pki/issue/web", C_UPDATE, 0, true, "root makes other policies moot, deny included"},
    {"Root", "sys/x", C_UPDATE, SUDO, true, "policy names are case-insensitive"},
    /* default */
    {"default", "auth/token/lookup-self", C_READ, 0, true, "default: look itself up"},
    {"default", "auth/token/lookup-self", C_UPDATE, 0, false, "default: lookup-self is read only"},
    {"default", "auth/token/renew-self", C_UPDATE, 0, true, "default: renew itself"},
    {"default", "auth/token/revoke-self", C_UPDATE, 0, true, "default: revoke itself"},
    {"default", "sys/capabilities-self", C_UPDATE, 0, true, "default: its own capabilities"},
    {"default", "auth/token/create", C_UPDATE, 0, false, "default: no token creation"},
    {"default", "pki/issue/web", C_UPDATE, 0, false, "default: nothing else"},
    /* the old "policy" word */
    {"p-legacy", "old/x", C_UPDATE, 0, true, "old 'write': create, read, update, delete, list"},
    {"p-legacy", "old/x", C_LIST, 0, true, "old 'write' includes list"},
    {"p-legacy", "old/x", C_PATCH, 0, false, "old 'write' predates patch"},
};

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    hsmca_store_config sc;
    hsmca_auth_config ac;

    if (f == NULL)
        return -1;
    if (unit_make_tmpdir(f->dir, sizeof(f->dir), "HSMCA_AUTH_TEST_DIR", "test_auth_acl") != 0)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/hsmca.db", f->dir);
    memset(&sc, 0, sizeof(sc));
    sc.path = f->path;
    memset(&ac, 0, sizeof(ac));
    if (hsmca_store_open(&sc, &f->st) != HSMCA_OK)
        return -1;
    ac.store = f->st;
    if (hsmca_auth_open(&ac, &f->a) != HSMCA_OK)
        return -1;
    for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
        if (hsmca_auth_policy_put(f->a, policies[i].name, policies[i].text, -1) != HSMCA_OK) {
            fprintf(stderr, "setup: policy %s: %s\n", policies[i].name, hsmca_err_message());
            return -1;
        }
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    hsmca_auth_free(f->a);
    hsmca_store_close(f->st);
    unit_remove_dir(f->dir);
    free(f);
    return 0;
}

static const char *cap_name(unsigned c)
{
    switch (c) {
    case HSMCA_CAP_CREATE:
        return "create";
    case HSMCA_CAP_READ:
        return "read";
    case HSMCA_CAP_UPDATE:
        return "update";
    case HSMCA_CAP_PATCH:
        return "patch";
    case HSMCA_CAP_DELETE:
        return "delete";
    case HSMCA_CAP_LIST:
        return "list";
    default:
        return "?";
    }
}

static void acl_table(void **state)
{
    fixture *f = *state;
    size_t failures = 0, n = sizeof(cases) / sizeof(cases[0]);

    assert_true(n >= 60);
    /* Twice: compiled, then from the cache; both must give the table. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            hsmca_strlist pol = {0};
            bool allowed = !cases[i].allowed;

            hsmca_strlist_add_csv(&pol, cases[i].policies);
            assert_rv(hsmca_auth_allowed(f->a, &pol, cases[i].path, cases[i].cap, cases[i].flags, &allowed),
                      HSMCA_OK);
            if (allowed != cases[i].allowed) {
                print_error("case %zu [%s] %s %s%s: %s, want %s -- %s\n", i, cases[i].policies, cap_name(cases[i].cap),
                            cases[i].path, cases[i].flags & SUDO ? " (sudo route)" : "",
                            allowed ? "allowed" : "denied", cases[i].allowed ? "allowed" : "denied", cases[i].rule);
                failures++;
            }
            hsmca_strlist_clear(&pol);
        }
    }
    assert_int_equal(failures, 0);
}

/* The same table through tokens and hsmca_auth_authorize, the daemon's
 * call, for the cases whose policies a token can hold. */
static void acl_table_through_tokens(void **state)
{
    fixture *f = *state;
    hsmca_auth_secret root_s, s;
    hsmca_auth_token root = {0}, t = {0};
    size_t failures = 0;

    assert_rv(hsmca_auth_init_root(f->a, NULL, &root_s, &root), HSMCA_OK);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hsmca_auth_create_params p;
        hsmca_auth_decision d;
        hsmca_rv rv;

        if (cases[i].policies[0] == '\0')
            continue; /* a token always has at least one policy */
        hsmca_auth_create_params_init(&p);
        hsmca_strlist_add_csv(&p.policies, cases[i].policies);
        /* Exactly the case's policies: no default added unless named. */
        p.no_default_policy = strstr(cases[i].policies, "default") == NULL;
        rv = hsmca_auth_token_create(f->a, &root, &p, &s, &t, NULL);
        hsmca_auth_create_params_clear(&p);
        assert_rv(rv, HSMCA_OK);
        assert_rv(hsmca_auth_authorize(f->a, s.token, cases[i].path, cases[i].cap, cases[i].flags, &d, NULL),
                  HSMCA_OK);
        if ((d == HSMCA_AUTH_ALLOW) != cases[i].allowed) {
            print_error("case %zu through a token: decision %d -- %s\n", i, (int)d, cases[i].rule);
            failures++;
        }
        if (!cases[i].allowed && d != HSMCA_AUTH_DENY_POLICY)
            failures++;
        hsmca_auth_secret_clear(&s);
    }
    assert_int_equal(failures, 0);
    hsmca_auth_token_clear(&root);
    hsmca_auth_token_clear(&t);
    hsmca_auth_secret_clear(&root_s);
}

static void expect_caps(fixture *f, const char *pols, const char *path, const char *want)
{
    hsmca_strlist pol = {0};
    unsigned caps = 0;
    json_t *j;
    char *text;

    hsmca_strlist_add_csv(&pol, pols);
    assert_rv(hsmca_auth_capabilities(f->a, &pol, path, &caps), HSMCA_OK);
    j = hsmca_auth_caps_to_json(caps);
    assert_non_null(j);
    text = json_dumps(j, JSON_COMPACT);
    if (strcmp(text, want) != 0)
        fail_msg("capabilities of [%s] on %s: %s, want %s", pols, path, text, want);
    free(text);
    json_decref(j);
    hsmca_strlist_clear(&pol);
}

static void capabilities_self(void **state)
{
    fixture *f = *state;

    expect_caps(f, "p-glob", "pki/issue/web", "[\"create\"]");
    expect_caps(f, "p-glob", "pki/x", "[\"read\"]");
    expect_caps(f, "p-deny", "secret/x", "[\"deny\"]");
    expect_caps(f, "root", "anything", "[\"root\"]");
    expect_caps(f, "p-multi1,p-multi2", "shared/path", "[\"read\",\"update\"]");
    expect_caps(f, "", "anything", "[\"deny\"]");
    expect_caps(f, "p-sudo", "sys/audit/x", "[\"sudo\",\"update\"]");
    expect_caps(f, "p-exact", "pki/roles/", "[\"list\"]"); /* answered as for LIST */
    expect_caps(f, "p-legacy", "old/x", "[\"create\",\"delete\",\"list\",\"read\",\"update\"]");
    expect_caps(f, "p-glob,p-empty", "pki/cert/ca", "[\"deny\"]");
}

/* ---- policy documents ---- */

static int collect_cb(const char *name, void *arg)
{
    char *buf = arg;

    strcat(buf, name);
    strcat(buf, ",");
    return 1;
}

static void policy_crud_and_builtins(void **state)
{
    fixture *f = *state;
    hsmca_auth_policy p = {0};
    char names[1024] = "";
    char name[HSMCA_AUTH_POLICY_NAME_MAX + 1];
    const char *text = "{\"path\": {\"x/*\": {\"capabilities\": [\"read\"]}}}";

    /* names: trimmed and lower-cased; the detail names what is wrong */
    assert_rv(hsmca_auth_policy_name_normalize("  MyPolicy ", name, sizeof(name)), HSMCA_OK);
    assert_string_equal(name, "mypolicy");
    assert_rv(hsmca_auth_policy_name_normalize("", name, sizeof(name)), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_auth_policy_name_normalize("a/b", name, sizeof(name)), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_auth_policy_name_normalize("a,b", name, sizeof(name)), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_auth_policy_name_normalize("a b", name, sizeof(name)), HSMCA_ERR_INVALID_ARG);

    assert_rv(hsmca_auth_policy_put(f->a, " MyPolicy", text, -1), HSMCA_OK);
    assert_rv(hsmca_auth_policy_get(f->a, "mypolicy", &p), HSMCA_OK);
    assert_string_equal(p.name, "mypolicy");
    assert_string_equal(p.text, text);
    assert_int_equal(p.version, 1);
    hsmca_auth_policy_clear(&p);

    /* check-and-set */
    assert_rv(hsmca_auth_policy_put(f->a, "mypolicy", text, 0), HSMCA_ERR_EXISTS);
    assert_rv(hsmca_auth_policy_put(f->a, "mypolicy", text, 1), HSMCA_OK);
    assert_rv(hsmca_auth_policy_put(f->a, "mypolicy", text, 1), HSMCA_ERR_EXISTS);
    assert_rv(hsmca_auth_policy_put(f->a, "brand-new", text, 0), HSMCA_OK);

    /* listing includes the built-ins, in order */
    assert_rv(hsmca_auth_policy_list(f->a, collect_cb, names), HSMCA_OK);
    assert_string_equal(names, "brand-new,default,mypolicy,p-deny,p-empty,p-exact,p-glob,p-legacy,p-list,p-multi1,"
                               "p-multi2,p-plus,p-prio,p-star,p-sudo,root,");

    /* root: readable (empty text), not writable, not deletable */
    assert_rv(hsmca_auth_policy_get(f->a, "root", &p), HSMCA_OK);
    assert_string_equal(p.text, "");
    hsmca_auth_policy_clear(&p);
    assert_rv(hsmca_auth_policy_put(f->a, "root", text, -1), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("root");
    assert_rv(hsmca_auth_policy_delete(f->a, "root"), HSMCA_ERR_INVALID_ARG);
    /* default: rewritable, not deletable */
    assert_rv(hsmca_auth_policy_get(f->a, "default", &p), HSMCA_OK);
    assert_non_null(strstr(p.text, "auth/token/lookup-self"));
    hsmca_auth_policy_clear(&p);
    assert_rv(hsmca_auth_policy_delete(f->a, "default"), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("default");
    assert_rv(hsmca_auth_policy_put(f->a, "default", text, -1), HSMCA_OK);
    assert_rv(hsmca_auth_policy_get(f->a, "default", &p), HSMCA_OK);
    assert_string_equal(p.text, text);
    hsmca_auth_policy_clear(&p);

    /* delete: idempotent; then absent */
    assert_rv(hsmca_auth_policy_delete(f->a, "MYPOLICY"), HSMCA_OK);
    assert_rv(hsmca_auth_policy_delete(f->a, "mypolicy"), HSMCA_OK);
    assert_rv(hsmca_auth_policy_get(f->a, "mypolicy", &p), HSMCA_ERR_NOT_FOUND);
}

static void policy_documents_checked(void **state)
{
    fixture *f = *state;
    hsmca_auth_policy p = {0};
    /* the base64 of {"path": {"b64/ANY": ...}} with ANY = "*": list */
    const char *b64 = "eyJwYXRoIjogeyJiNjQvKiI6IHsiY2FwYWJpbGl0aWVzIjogWyJsaXN0Il19fX0=";
    hsmca_strlist pol = {0};
    bool allowed = false;

    /* HCL is named as the problem */
    assert_rv(hsmca_auth_policy_put(f->a, "hcl", "path \"secret/*\" {\n  capabilities = [\"read\"]\n}\n", -1),
              HSMCA_ERR_INVALID_ARG);
    assert_detail_has("not JSON");
    assert_detail_has("HCL");
    assert_rv(hsmca_auth_policy_get(f->a, "hcl", &p), HSMCA_ERR_NOT_FOUND);

    /* base64 of JSON is accepted and stored decoded, as OpenBao does */
    assert_rv(hsmca_auth_policy_put(f->a, "b64", b64, -1), HSMCA_OK);
    assert_rv(hsmca_auth_policy_get(f->a, "b64", &p), HSMCA_OK);
    assert_string_equal(p.text, "{\"path\": {\"b64/*\": {\"capabilities\": [\"list\"]}}}");
    hsmca_auth_policy_clear(&p);
    hsmca_strlist_add_csv(&pol, "b64");
    assert_rv(hsmca_auth_allowed(f->a, &pol, "b64/x/", HSMCA_CAP_LIST, 0, &allowed), HSMCA_OK);
    assert_true(allowed);
    hsmca_strlist_clear(&pol);

    /* each mistake is named with its path */
    assert_rv(hsmca_auth_policy_check("{\"path\": {\"a/*\": {\"capabilities\": [\"write\"]}}}"),
              HSMCA_ERR_INVALID_ARG);
    assert_detail_has("a/*");
    assert_detail_has("write");
    assert_rv(hsmca_auth_policy_check("{\"path\": {\"a/+*\": {\"capabilities\": [\"read\"]}}}"),
              HSMCA_ERR_INVALID_ARG);
    assert_detail_has("+*");
    assert_rv(hsmca_auth_policy_check("{\"path\": {\"a/*/b\": {\"capabilities\": [\"read\"]}}}"),
              HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_auth_policy_check("{\"path\": {\"a\": {\"capabilities\": [\"read\"], "
                                      "\"allowed_parameters\": {\"x\": []}}}}"),
              HSMCA_ERR_INVALID_ARG);
    assert_detail_has("allowed_parameters");
    assert_rv(hsmca_auth_policy_check("{\"path\": {\"a\": {\"capabilities\": \"read\"}}}"), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_auth_policy_check("{\"paths\": {}}"), HSMCA_ERR_INVALID_ARG);
    assert_detail_has("paths");
    assert_rv(hsmca_auth_policy_check("{\"path\": {\"a\": {\"policy\": \"admin\"}}}"), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_auth_policy_check("{\"path\": {\"a\": {}, \"a\": {}}}"), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_auth_policy_check("[1, 2]"), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_auth_policy_check(NULL), HSMCA_ERR_INVALID_ARG);
    assert_rv(hsmca_auth_policy_check("{}"), HSMCA_OK); /* grants nothing, but valid */
    assert_rv(hsmca_auth_policy_check("{\"name\": \"x\", \"path\": [{\"a\": {\"capabilities\": [\"read\"]}}, "
                                      "{\"b\": [{\"capabilities\": [\"list\"]}]}]}"),
              HSMCA_OK); /* HCL's JSON form may use arrays */
}

static void policy_write_takes_effect_at_once(void **state)
{
    fixture *f = *state;
    hsmca_auth_secret root_s, s;
    hsmca_auth_token root = {0}, t = {0};
    hsmca_auth_create_params p;
    hsmca_auth_decision d;

    assert_rv(hsmca_auth_init_root(f->a, NULL, &root_s, &root), HSMCA_OK);
    assert_rv(hsmca_auth_policy_put(f->a, "gen", "{\"path\": {\"gen/x\": {\"capabilities\": [\"read\"]}}}", -1),
              HSMCA_OK);
    hsmca_auth_create_params_init(&p);
    hsmca_strlist_add_csv(&p.policies, "gen");
    assert_rv(hsmca_auth_token_create(f->a, &root, &p, &s, &t, NULL), HSMCA_OK);
    hsmca_auth_create_params_clear(&p);

    assert_rv(hsmca_auth_authorize(f->a, s.token, "gen/x", HSMCA_CAP_READ, 0, &d, NULL), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_ALLOW);
    assert_rv(hsmca_auth_authorize(f->a, s.token, "gen/x", HSMCA_CAP_READ, 0, &d, NULL), HSMCA_OK); /* cached */
    assert_int_equal(d, HSMCA_AUTH_ALLOW);
    assert_rv(hsmca_auth_policy_put(f->a, "gen", "{\"path\": {\"gen/x\": {\"capabilities\": [\"update\"]}}}", -1),
              HSMCA_OK);
    assert_rv(hsmca_auth_authorize(f->a, s.token, "gen/x", HSMCA_CAP_READ, 0, &d, NULL), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_DENY_POLICY);
    assert_rv(hsmca_auth_authorize(f->a, s.token, "gen/x", HSMCA_CAP_UPDATE, 0, &d, NULL), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_ALLOW);
    /* deleted: the token keeps the name, which grants nothing */
    assert_rv(hsmca_auth_policy_delete(f->a, "gen"), HSMCA_OK);
    assert_rv(hsmca_auth_authorize(f->a, s.token, "gen/x", HSMCA_CAP_UPDATE, 0, &d, NULL), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_DENY_POLICY);
    /* written again: granted again */
    assert_rv(hsmca_auth_policy_put(f->a, "gen", "{\"path\": {\"gen/*\": {\"capabilities\": [\"update\"]}}}", -1),
              HSMCA_OK);
    assert_rv(hsmca_auth_authorize(f->a, s.token, "gen/x", HSMCA_CAP_UPDATE, 0, &d, NULL), HSMCA_OK);
    assert_int_equal(d, HSMCA_AUTH_ALLOW);
    hsmca_auth_token_clear(&root);
    hsmca_auth_token_clear(&t);
    hsmca_auth_secret_clear(&root_s);
    hsmca_auth_secret_clear(&s);
}

static void many_policy_sets_share_a_small_cache(void **state)
{
    fixture *f = *state;
    char name[32];

    /* More distinct sets than cache slots: evictions must not change answers. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 300; i++) {
            hsmca_strlist pol = {0};
            bool allowed = false;

            snprintf(name, sizeof(name), "p-glob,extra-%d", i);
            hsmca_strlist_add_csv(&pol, name);
            assert_rv(hsmca_auth_allowed(f->a, &pol, "pki/x", HSMCA_CAP_READ, 0, &allowed), HSMCA_OK);
            assert_true(allowed);
            assert_rv(hsmca_auth_allowed(f->a, &pol, "pki/x", HSMCA_CAP_UPDATE, 0, &allowed), HSMCA_OK);
            assert_false(allowed);
            hsmca_strlist_clear(&pol);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(acl_table, setup, teardown),
        cmocka_unit_test_setup_teardown(acl_table_through_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(capabilities_self, setup, teardown),
        cmocka_unit_test_setup_teardown(policy_crud_and_builtins, setup, teardown),
        cmocka_unit_test_setup_teardown(policy_documents_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(policy_write_takes_effect_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(many_policy_sets_share_a_small_cache, setup, teardown),
    };
    return cmocka_run_group_tests_name("auth_acl", tests, NULL, NULL);
}
