/* SPDX-License-Identifier: Apache-2.0 */
/* Durations and timestamps as OpenBao's API writes them: Go time.ParseDuration
 * syntax, go-secure-stdlib parseutil.ParseDurationSecond (plain seconds, "Nd"
 * days), Go's Duration.String() rendering, and RFC 3339 timestamps. */
#ifndef HSMCA_DURATION_H
#define HSMCA_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest duration or timestamp text accepted or produced (bounded parsers). */
#define HSMCA_DURATION_TEXT_MAX 64
/* 9999-12-31T23:59:59Z: the latest time RFC 5280 GeneralizedTime can carry and
 * the IEEE 802.1AR "no well-defined expiration" value OpenBao documents. */
#define HSMCA_TIME_UNIX_MAX INT64_C(253402300799)
/* Room for "YYYY-MM-DDTHH:MM:SSZ" and its NUL. */
#define HSMCA_RFC3339_BUF 21

/* Go time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+ or
 * "0", into nanoseconds. Overflow of int64 nanoseconds is an error, as in Go. */
hsmca_rv hsmca_duration_parse_go(const char *s, int64_t *ns);

/* parseutil.ParseDurationSecond for a string, into whole seconds (truncated
 * toward zero as Go's int(d.Seconds()) does): "" is 0, a plain integer is
 * seconds, "<integer>d" is days, anything else is a Go duration. Negative
 * values parse; callers that need them non-negative check. */
hsmca_rv hsmca_duration_parse_seconds(const char *s, int64_t *secs);

/* Go's Duration.String() for whole seconds: "0s", "30s", "1m30s", "72h0m0s".
 * Always NUL-terminates when size > 0; returns the length it wanted. */
size_t hsmca_duration_format(int64_t secs, char *buf, size_t size);

/* RFC 3339 date-time (Go time.RFC3339 layout): YYYY-MM-DDTHH:MM:SS, optional
 * fraction (dropped), then Z or +hh:mm / -hh:mm. Fields are range-checked
 * (day against the month and leap year). Result in unix seconds, UTC. */
hsmca_rv hsmca_time_parse_rfc3339(const char *s, int64_t *unix_secs);

/* "YYYY-MM-DDTHH:MM:SSZ" for 0000-01-01 .. 9999-12-31; buf holds at least
 * HSMCA_RFC3339_BUF bytes. */
hsmca_rv hsmca_time_format_rfc3339(int64_t unix_secs, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
