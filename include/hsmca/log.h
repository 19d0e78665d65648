/* SPDX-License-Identifier: Apache-2.0 */
/* Logging: one line per event on stderr with sd-daemon priority prefixes so
 * journald keeps the level. Callers must never pass secrets. */
#ifndef HSMCA_LOG_H
#define HSMCA_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

/* syslog(3) priorities, as journald reads them from "<N>" prefixes. */
typedef enum {
    HSMCA_LOG_ERR = 3,
    HSMCA_LOG_WARNING = 4,
    HSMCA_LOG_NOTICE = 5,
    HSMCA_LOG_INFO = 6,
    HSMCA_LOG_DEBUG = 7
} hsmca_log_level;

void hsmca_log_set_level(hsmca_log_level max);
hsmca_log_level hsmca_log_get_level(void);
/* Parses "err", "warning", "notice", "info", "debug"; returns 0 if unknown. */
int hsmca_log_parse_level(const char *name, hsmca_log_level *out);
int hsmca_log_enabled(hsmca_log_level level);

void hsmca_log(hsmca_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define hsmca_log_debug(...)                                                   \
    do {                                                                       \
        if (hsmca_log_enabled(HSMCA_LOG_DEBUG))                                \
            hsmca_log(HSMCA_LOG_DEBUG, __VA_ARGS__);                           \
    } while (0)

/* p11-kit's return_val_if_fail: a violated precondition in library code is
 * logged and turned into an error return, never an abort. */
#define hsmca_return_val_if_fail(expr, val)                                    \
    do {                                                                       \
        if (!(expr)) {                                                         \
            hsmca_log(HSMCA_LOG_ERR, "%s: precondition '%s' failed",           \
                      __func__, #expr);                                        \
            return (val);                                                      \
        }                                                                      \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
