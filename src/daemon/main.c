/* SPDX-License-Identifier: Apache-2.0 */
/* hsmcad: the appliance's daemon. Assembles the token, the store, the CA,
 * tokens and policies, the audit log and the HTTP server from a
 * configuration file (or development mode), hardens the process, tells the
 * service manager when it is ready and alive (notify.c), serves until
 * SIGTERM/SIGINT, reopens the audit log and reloads the configuration on
 * SIGHUP (reload.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/provider.h>

#include "hsmca/audit.h"
#include "hsmca/auth.h"
#include "hsmca/ca.h"
#include "hsmca/duration.h"
#include "hsmca/keyslot.h"
#include "hsmca/fetch.h"
#include "hsmca/log.h"
#include "hsmca/openbao.h"
#include "hsmca/p11.h"
#include "hsmca/provider.h"
#include "hsmca/revocation.h"
#include "hsmca/store.h"
#include "internal.h"

#ifndef HSMCA_VERSION
#define HSMCA_VERSION "0"
#endif

static volatile sig_atomic_t stop_requested, reopen_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reopen_requested = 1;
    else
        stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: hsmcad -config FILE\n"
               "       hsmcad -dev [-dev-root-token-id=ID | -dev-root-token-file=F] [-dev-listen-address=ADDR]\n"
               "                   [-dev-state-dir=DIR] [-dev-tls]\n"
               "\n"
               "  -config FILE           JSON configuration (docs/daemon.md)\n"
               "  -dev                   throwaway appliance: fresh SoftHSM2 token, SQLite database and audit\n"
               "                         log in a state directory, plain HTTP on loopback, a 'pki' mount\n"
               "  -dev-root-token-id=ID  the root token (default: random, printed)\n"
               "  -dev-root-token-file=F the root token, read from the first line of a file (not seen in ps)\n"
               "  -dev-listen-address=A  default 127.0.0.1:8200; loopback only\n"
               "  -dev-state-dir=DIR     default: a new directory under $TMPDIR\n"
               "  -dev-tls               HTTPS with a listener certificate from a development CA\n"
               "                         (DIR/tls-ca.pem); client certificates are requested, not required\n"
               "  -log-level=LEVEL       err, warning, notice, info (default), debug\n"
               "  -crl-check-interval=D  how often CRL auto-rebuild and auto-tidy look for due work (default 60s)\n");
}

/* `-flag=value` or `-flag value`; also accepts the `--` spelling. */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (a == NULL) /* argv[argc] is NULL; argc is trusted, the analyzer does not */
        return NULL;
    if (a[0] == '-' && a[1] == '-')
        a++;
    if (strncmp(a + 1, name, n) != 0)
        return NULL;
    if (a[1 + n] == '=')
        return a + 2 + n;
    if (a[1 + n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static bool flag(const char *arg, const char *name)
{
    if (arg[0] == '-' && arg[1] == '-')
        arg++;
    return arg[0] == '-' && strcmp(arg + 1, name) == 0;
}

static int parse_args(int argc, char **argv, daemon_config *c, char **config_path)
{
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (flag(argv[i], "dev")) {
            c->dev = true;
        } else if (flag(argv[i], "dev-tls")) {
            c->dev_tls = true;
        } else if (flag(argv[i], "h") || flag(argv[i], "help")) {
            usage(stdout);
            return 0;
        } else if ((v = flag_value(argc, argv, &i, "config")) != NULL) {
            *config_path = strdup(v);
        } else if ((v = flag_value(argc, argv, &i, "dev-root-token-id")) != NULL) {
            c->dev_root_token_id = strdup(v);
        } else if ((v = flag_value(argc, argv, &i, "dev-root-token-file")) != NULL) {
            c->dev_root_token_file = strdup(v);
        } else if ((v = flag_value(argc, argv, &i, "dev-listen-address")) != NULL) {
            if (c->n_listen < DAEMON_LISTEN_MAX)
                c->listen[c->n_listen++] = strdup(v);
        } else if ((v = flag_value(argc, argv, &i, "dev-state-dir")) != NULL) {
            c->dev_state_dir = strdup(v);
        } else if ((v = flag_value(argc, argv, &i, "log-level")) != NULL) {
            c->log_level = strdup(v);
        } else if ((v = flag_value(argc, argv, &i, "crl-check-interval")) != NULL) {
            if (hsmca_duration_parse_seconds(v, &c->crl_check_interval) != HSMCA_OK || c->crl_check_interval <= 0) {
                fprintf(stderr, "hsmcad: -crl-check-interval '%s' is not a positive duration\n", v);
                return 64;
            }
        } else {
            fprintf(stderr, "hsmcad: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 64;
        }
    }
    if (c->dev == (*config_path != NULL)) {
        fprintf(stderr, "hsmcad: give exactly one of -config FILE and -dev\n");
        usage(stderr);
        return 64;
    }
    if (c->dev_root_token_id != NULL && c->dev_root_token_file != NULL) {
        fprintf(stderr, "hsmcad: give -dev-root-token-id or -dev-root-token-file, not both\n");
        return 64;
    }
    if (!c->dev && (c->dev_tls || c->dev_root_token_id || c->dev_root_token_file || c->dev_state_dir || c->n_listen)) {
        fprintf(stderr, "hsmcad: -dev-* options need -dev\n");
        return 64;
    }
    return -1;
}

/* Core dumps would carry PINs and session state: none, and not traceable
 * by other processes of the same user. */
static void harden(void)
{
    struct rlimit none = {0, 0};

    setrlimit(RLIMIT_CORE, &none);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    umask(077);
    signal(SIGPIPE, SIG_IGN);
    /* a file-size limit must fail a write (the audit log refuses the
     * request), not kill the daemon */
    signal(SIGXFSZ, SIG_IGN);
}

/* The root token of a first start: shown once on a terminal, else written
 * to a 0600 file (never to a log). */
static hsmca_rv announce_root(const daemon_config *c, const hsmca_auth_secret *secret)
{
    char path[DAEMON_PATH_MAX];
    int fd;
    size_t n = strlen(secret->token);

    if (c->dev && c->dev_root_token_file != NULL) {
        /* the operator has it in that file; stdout may be a log */
        printf("Root Token: the one in %s\n", c->dev_root_token_file);
        fflush(stdout);
        return HSMCA_OK;
    }
    if (c->dev || isatty(STDOUT_FILENO)) {
        printf("Root Token: %s\n", secret->token);
        if (!c->dev)
            printf("It is shown this once and stored only as a hash. Keep it safe; revoke it once you have "
                   "made operators' tokens.\n");
        fflush(stdout);
        return HSMCA_OK;
    }
    if (c->root_token_file != NULL)
        snprintf(path, sizeof(path), "%s", c->root_token_file);
    else
        snprintf(path, sizeof(path), "%s.root-token", c->db_path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return hsmca_err(HSMCA_ERR_IO, "cannot create the root token file '%s': %s", path, strerror(errno));
    if (write(fd, secret->token, n) != (ssize_t)n || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
        close(fd);
        return hsmca_err(HSMCA_ERR_IO, "cannot write the root token file '%s'", path);
    }
    close(fd);
    hsmca_log(HSMCA_LOG_NOTICE, "first start: the root token was written to %s (read it, then delete the file)",
              path);
    return HSMCA_OK;
}

typedef struct {
    hsmca_p11_token *tok;
    hsmca_keyslot *ks;
    OSSL_PROVIDER *prov;
    hsmca_store *st;
    hsmca_ca *ca;
    hsmca_auth *auth;
    hsmca_audit *audit;
    hsmca_openbao *api;
    hsmca_http_server *srv;
    daemon_tls_key *tls_key;
    daemon_crl_job *crl_job;
} parts;

static void parts_free(parts *p)
{
    hsmca_http_server_stop(p->srv);
    daemon_crl_job_stop(p->crl_job); /* before the CA and store it uses */
    hsmca_revocation_tidy_shutdown(); /* tidy threads use them too */
    hsmca_openbao_free(p->api);
    hsmca_audit_free(p->audit);
    hsmca_auth_free(p->auth);
    hsmca_ca_free(p->ca);
    hsmca_store_close(p->st);
    daemon_tls_key_free(p->tls_key);
    if (p->prov != NULL)
        OSSL_PROVIDER_unload(p->prov);
    hsmca_keyslot_free(p->ks);
    hsmca_p11_token_free(p->tok);
}

static hsmca_rv assemble(daemon_config *c, parts *p, const int *listen_fds, size_t n_listen_fds)
{
    hsmca_p11_config pc;
    hsmca_store_config sc;
    hsmca_ca_config cc;
    hsmca_auth_config ac;
    hsmca_audit_config auc;
    hsmca_openbao_config oc;
    hsmca_http_config hc;
    const hsmca_http_external_key *ext = NULL;
    bool initialized = false;
    hsmca_rv rv;

    memset(&pc, 0, sizeof(pc));
    pc.module_path = c->module;
    pc.token_label = c->token_label;
    pc.token_serial = c->token_serial;
    pc.pin.file = c->pin_file;
    pc.pin.credential = c->pin_credential;
    pc.max_sessions = c->max_sessions;
    if ((rv = hsmca_p11_token_open(&pc, &p->tok)) != HSMCA_OK)
        return rv;
    if ((rv = hsmca_keyslot_new(p->tok, &p->ks)) != HSMCA_OK || (rv = hsmca_provider_load(NULL, &p->prov)) != HSMCA_OK)
        return rv;
    memset(&sc, 0, sizeof(sc));
    sc.path = c->db_path;
    if ((rv = hsmca_store_open(&sc, &p->st)) != HSMCA_OK)
        return rv;
    memset(&cc, 0, sizeof(cc));
    cc.store = p->st;
    cc.keyslot = p->ks;
    cc.default_ttl = c->default_ttl;
    cc.max_ttl = c->max_ttl;
    if ((rv = hsmca_ca_new(&cc, &p->ca)) != HSMCA_OK)
        return rv;
    memset(&ac, 0, sizeof(ac));
    ac.store = p->st;
    if ((rv = hsmca_auth_open(&ac, &p->auth)) != HSMCA_OK)
        return rv;
    memset(&auc, 0, sizeof(auc));
    auc.path = c->audit_path;
    auc.no_sync = c->audit_no_sync;
    if ((rv = hsmca_audit_open(p->tok, &auc, &p->audit)) != HSMCA_OK)
        return rv;
    /* Tidy runs (manual and auto-tidy) are audited too; parts_free stops
     * their threads before the log is closed. */
    hsmca_revocation_set_audit(p->ca, p->audit);
    for (size_t i = 0; i < c->n_mounts; i++) {
        rv = hsmca_ca_mount_enable(p->ca, c->mounts[i]);
        if (rv != HSMCA_OK && rv != HSMCA_ERR_EXISTS)
            return rv;
    }
    {
        char report[512];
        if ((rv = daemon_policies_sync(c, p->auth, p->audit, report, sizeof(report))) != HSMCA_OK)
            return rv;
        if (report[0] != '\0')
            hsmca_log(HSMCA_LOG_NOTICE, "configuration: %s", report);
    }
    if ((rv = hsmca_auth_initialized(p->auth, &initialized)) != HSMCA_OK)
        return rv;
    if (!initialized) {
        hsmca_auth_secret secret;
        memset(&secret, 0, sizeof(secret));
        rv = hsmca_auth_init_root(p->auth, c->dev ? c->dev_root_token_id : NULL, &secret, NULL);
        if (rv == HSMCA_OK)
            rv = announce_root(c, &secret);
        hsmca_auth_secret_clear(&secret);
        if (rv != HSMCA_OK)
            return rv;
    } else if (c->dev && c->dev_root_token_id != NULL) {
        printf("Root Token: (unchanged: this state directory was initialised before)\n");
    }
    memset(&oc, 0, sizeof(oc));
    oc.ca = p->ca;
    oc.store = p->st;
    oc.auth = p->auth;
    oc.audit = p->audit;
    oc.token = p->tok;
    oc.version = HSMCA_VERSION;
    oc.dev_mode = c->dev;
    if ((rv = hsmca_openbao_new(&oc, &p->api)) != HSMCA_OK)
        return rv;
    if (c->tls && c->tls_key != NULL && strncmp(c->tls_key, "pkcs11:", 7) == 0 &&
        (rv = daemon_tls_key_open(p->tok, c->tls_key, &p->tls_key, &ext)) != HSMCA_OK)
        return rv;
    memset(&hc, 0, sizeof(hc));
    for (size_t i = 0; i < c->n_listen; i++)
        hc.listen[i] = c->listen[i];
    hc.n_listen = c->n_listen;
    for (size_t i = 0; i < n_listen_fds; i++)
        hc.listen_fd[i] = listen_fds[i];
    hc.n_listen_fd = n_listen_fds;
    if (hc.n_listen == 0) {
        hc.listen[0] = "127.0.0.1:8200"; /* OpenBao's default address */
        hc.n_listen = 1;
    }
    hc.tls = c->tls;
    hc.allow_plain_remote = c->allow_plain_remote;
    hc.tls_cert_file = c->tls_cert_file;
    hc.tls_key_file = ext == NULL ? c->tls_key : NULL;
    hc.tls_external_key = ext;
    hc.tls_client_ca_file = c->tls_client_ca_file;
    hc.io_threads = c->io_threads;
    hc.workers = c->workers;
    hc.limits = c->limits;
    hc.dispatch = hsmca_openbao_dispatch;
    hc.dispatch_arg = p->api;
    if ((rv = hsmca_http_server_start(&hc, &p->srv)) != HSMCA_OK)
        return rv;
    hsmca_openbao_set_server(p->api, p->srv);
    return daemon_crl_job_start(p->ca, c->crl_check_interval, &p->crl_job);
}

static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The watchdog's health check, the same one sys/health answers by: the
 * token answers and its PIN was not refused. A daemon that cannot sign is
 * not alive as far as the manager should care: withholding WATCHDOG=1 lets
 * it restart us (Restart=on-watchdog), which reopens the module. */
static bool hsm_healthy(hsmca_p11_token *tok)
{
    hsmca_p11_health h;

    return hsmca_p11_token_health(tok, &h) == HSMCA_OK && h.present && !h.pin_rejected;
}

static void on_reload(const char *config_path, daemon_config *c, parts *p)
{
    char report[1024];
    daemon_live live = {p->srv, p->ca, p->auth, p->audit};

    /* MONOTONIC_USEC: what Type=notify-reload (systemd 253+) requires to
     * tie this RELOADING=1 to the reload it asked for; older ones ignore it. */
    daemon_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading", (unsigned long long)mono_us());
    /* Rotation's reopen first: it must happen even when the file is bad. */
    if (hsmca_audit_reopen(p->audit) != HSMCA_OK)
        hsmca_log(HSMCA_LOG_ERR, "audit log reopen failed: %s", hsmca_err_message());
    else
        hsmca_log(HSMCA_LOG_NOTICE, "audit log reopened");
    if (config_path == NULL) {
        hsmca_log(HSMCA_LOG_NOTICE, "reload: development mode has no configuration file to read again");
    } else if (daemon_reload(config_path, c, &live, report, sizeof(report)) != HSMCA_OK) {
        hsmca_log(HSMCA_LOG_ERR, "reload rejected, the running configuration is kept: %s", hsmca_err_message());
        daemon_notify("READY=1\nSTATUS=serving; last reload rejected: %s", hsmca_err_message());
        return;
    } else {
        hsmca_log(HSMCA_LOG_NOTICE, "reload: %s", report);
    }
    daemon_notify("READY=1\nSTATUS=serving; reloaded");
}

/* What `systemctl status` shows between events: the state and the load. */
static void status_line(const parts *p, bool healthy)
{
    hsmca_http_stats st;

    hsmca_http_server_stats(p->srv, &st);
    daemon_notify("STATUS=%s; %llu requests answered, %llu in flight",
                  healthy ? "serving" : "HSM unavailable: watchdog pings withheld", (unsigned long long)st.requests,
                  (unsigned long long)st.in_flight);
}

/* One loop on the main thread until SIGTERM/SIGINT: signals (nanosleep
 * returns early on them), watchdog pings at half the manager's timeout,
 * and the hourly removal of expired tokens (expired ones are refused
 * without it; this only reclaims their rows). */
static void serve(const char *config_path, daemon_config *c, parts *p)
{
    uint64_t wd_every = daemon_notify_watchdog_usec() / 2, now = mono_us();
    uint64_t next_wd = now, next_tidy = now + 3600u * 1000000u, next_status = now + 30u * 1000000u;
    bool healthy = true;

    while (!stop_requested) {
        uint64_t wake = next_tidy;
        struct timespec ts;

        now = mono_us();
        if (wd_every != 0 && now >= next_wd) {
            bool ok = hsm_healthy(p->tok);
            if (ok)
                daemon_notify("WATCHDOG=1");
            if (ok != healthy) {
                /* transitions only: one line per event, not per ping */
                hsmca_log(ok ? HSMCA_LOG_NOTICE : HSMCA_LOG_ERR,
                          ok ? "HSM health check passes again: watchdog pings resumed"
                             : "HSM health check fails (token absent or PIN refused): watchdog pings withheld");
                healthy = ok;
                status_line(p, healthy);
            }
            next_wd = now + wd_every;
        }
        if (now >= next_status) {
            status_line(p, healthy);
            next_status = now + 30u * 1000000u;
        }
        if (now >= next_tidy) {
            size_t n = 0;
            if (hsmca_auth_tidy(p->auth, 0, &n) != HSMCA_OK)
                hsmca_log(HSMCA_LOG_WARNING, "token tidy failed: %s", hsmca_err_message());
            else if (n > 0)
                hsmca_log(HSMCA_LOG_INFO, "token tidy: %zu expired tokens removed", n);
            next_tidy = now + 3600u * 1000000u;
        }
        if (reopen_requested) {
            reopen_requested = 0;
            on_reload(config_path, c, p);
        }
        if (wd_every != 0 && next_wd < wake)
            wake = next_wd;
        if (next_status < wake)
            wake = next_status;
        now = mono_us();
        /* at most a second asleep: a signal that lands between the flag
         * checks and nanosleep waits no longer than that */
        wake = wake > now ? wake - now : 0;
        if (wake > 1000000u)
            wake = 1000000u;
        ts.tv_sec = (time_t)(wake / 1000000u);
        ts.tv_nsec = (long)(wake % 1000000u) * 1000;
        if (wake > 0)
            nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv)
{
    daemon_config c;
    char *config_path = NULL;
    parts p;
    hsmca_log_level level = HSMCA_LOG_INFO;
    struct sigaction sa;
    int listen_fds[DAEMON_LISTEN_MAX];
    size_t n_listen_fds = 0;
    bool served = false;
    int code;
    hsmca_rv rv;

    memset(&c, 0, sizeof(c));
    memset(&p, 0, sizeof(p));
    code = parse_args(argc, argv, &c, &config_path);
    if (code >= 0)
        goto done;
    harden();
    /* PINs live in the secure heap, locked in memory. */
    /* 1: mapped, guarded and mlock'ed; 2: in use but not fully protected
     * (mlock refused: LimitMEMLOCK); 0: no secure heap at all. */
    if (CRYPTO_secure_malloc_init(64 * 1024, 32) != 1)
        hsmca_log(HSMCA_LOG_WARNING, "the secure heap could not be locked in memory (LimitMEMLOCK?): PINs may be "
                                     "swapped out");
    rv = daemon_notify_init();
    if (rv == HSMCA_OK)
        rv = daemon_listen_fds(listen_fds, DAEMON_LISTEN_MAX, &n_listen_fds);
    if (rv == HSMCA_OK)
        rv = c.dev ? daemon_dev_prepare(&c) : daemon_config_load(config_path, &c);
    /* -dev-tls: the daemon's own https endpoints (its OCSP responder, its
     * CRL) are reachable by its outbound fetches too. */
    if (rv == HSMCA_OK && c.dev && c.dev_tls && c.tls_client_ca_file != NULL)
        rv = hsmca_fetch_trust_file(c.tls_client_ca_file);
    if (rv == HSMCA_OK && c.log_level != NULL && !hsmca_log_parse_level(c.log_level, &level))
        rv = hsmca_err(HSMCA_ERR_INVALID_ARG, "log level '%s' is unknown (err, warning, notice, info, debug)",
                       c.log_level);
    if (rv != HSMCA_OK) {
        hsmca_log(HSMCA_LOG_ERR, "hsmcad: %s", hsmca_err_message());
        daemon_notify("STATUS=configuration refused: %s", hsmca_err_message());
        code = 78; /* EX_CONFIG */
        goto done;
    }
    hsmca_log_set_level(level);
    daemon_notify("STATUS=opening the token, the database and the listeners");
    rv = assemble(&c, &p, listen_fds, n_listen_fds);
    if (rv != HSMCA_OK) {
        const char *why = hsmca_err_message()[0] ? hsmca_err_message() : hsmca_rv_name(rv);
        hsmca_log(HSMCA_LOG_ERR, "hsmcad: %s", why);
        daemon_notify("STATUS=start failed: %s", why);
        /* 78 (EX_CONFIG) is what the unit's RestartPreventExitStatus= names:
         * an operator must act. A refused or locked PIN is one of those —
         * restarting would present the wrong PIN again every RestartSec and
         * lock a real HSM's user PIN within a few tries. */
        code = rv == HSMCA_ERR_INVALID_ARG || rv == HSMCA_ERR_PIN_INCORRECT || rv == HSMCA_ERR_PIN_LOCKED ? 78 : 69;
        goto done;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (c.dev) {
        /* the listen address without its port, then the port bound */
        const char *addr = c.n_listen ? c.listen[0] : "127.0.0.1:8200", *colon = strrchr(addr, ':');
        int host_len = colon ? (int)(colon - addr) : (int)strlen(addr);
        printf("hsmcad development mode: do not use in production.\n"
               "Address: %s://%.*s:%u\nState directory: %s\n",
               c.tls ? "https" : "http", host_len, addr, (unsigned)hsmca_http_server_port(p.srv, 0),
               c.dev_state_dir);
        if (c.tls)
            printf("TLS CA: %s/tls-ca.pem\n", c.dev_state_dir);
        fflush(stdout);
    }
    hsmca_log(HSMCA_LOG_NOTICE, "hsmcad %s serving (%s, port %u%s)", HSMCA_VERSION, c.tls ? "TLS" : "plain HTTP",
              (unsigned)hsmca_http_server_port(p.srv, 0), n_listen_fds ? ", socket-activated" : "");
    /* Ready means what a client needs: the token is open and logged in and
     * the listeners accept (both done by assemble). */
    daemon_notify("READY=1\nSTATUS=serving on port %u (%s)\nMAINPID=%ld", (unsigned)hsmca_http_server_port(p.srv, 0),
                  c.tls ? "TLS" : "plain HTTP", (long)getpid());
    serve(config_path, &c, &p);
    served = true;
    hsmca_log(HSMCA_LOG_NOTICE, "hsmcad stopping: no new connections, finishing requests in flight");
    daemon_notify("STOPPING=1\nSTATUS=stopping: finishing requests in flight");
    code = 0;
done:
    parts_free(&p);
    if (served) /* after the drain and the token's sessions are closed */
        hsmca_log(HSMCA_LOG_NOTICE, "hsmcad stopped");
    daemon_notify_close();
    daemon_config_clear(&c);
    free(config_path);
    return code;
}
