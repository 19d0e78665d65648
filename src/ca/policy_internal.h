/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the role and policy files of src/ca: name syntax (RFC 1123,
 * RFC 6125 wildcards, IDNA A-labels), OpenBao's glob and domain matching,
 * and UTF-8 checks. */
#ifndef HSMCA_CA_POLICY_INTERNAL_H
#define HSMCA_CA_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "hsmca/jsonfield.h"
#include "hsmca/role.h"

/* RFC 1035 2.3.4 / RFC 5280 4.2.1.6: a name of at most 253 octets (255 on the
 * wire less the root and length octets), labels of at most 63. */
#define POLICY_DNS_MAX   253
#define POLICY_LABEL_MAX 63
/* Room for a quoted, escaped and possibly truncated value in a message. */
#define POLICY_QUOTE_BUF 112
/* Room for a why-it-failed sentence inside a denial. */
#define POLICY_WHY_BUF 320

/* Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF,
 * RFC 3629 3) and no NUL among the len bytes. *chars gets the number of code
 * points when non-NULL. */
#define policy_utf8_valid hsmca_utf8_valid /* src/util/jsonfield.c */

/* github.com/ryanuber/go-glob semantics, which OpenBao uses everywhere a role
 * takes globs: '*' matches any run of characters (dots included); nothing
 * else is special. nocase folds ASCII case (used for DNS names, RFC 4343). */
bool policy_glob_match(const char *pattern, const char *subject, bool nocase);

/* Escapes non-printable bytes as \xNN and truncates long values with "...",
 * so a denial message stays readable and bounded whatever the input. */
void policy_quote(const char *s, char *buf, size_t size);

typedef enum {
    POLICY_DOMAIN_OK = 0,
    POLICY_DOMAIN_BAD_LENGTH, /* empty label, label > 63 or name > 253 octets */
    POLICY_DOMAIN_BAD_IDN     /* a label libidn2 refuses (IDNA2008 / UTS #46) */
} policy_domain_result;

/* The A-label form of a domain name (RFC 5890 2.3.2.1), label by label: a
 * label with non-ASCII bytes or an "xn--" prefix goes through libidn2
 * (UTS #46 non-transitional, NFC); other ASCII labels are copied unchanged. A
 * label holding '*' must be ASCII. One trailing dot is tolerated here, as Go's
 * idna.ToASCII does; the syntax checks below refuse it. out holds at least
 * POLICY_DNS_MAX + 2 bytes. why gets the reason on failure. */
policy_domain_result policy_domain_to_ascii(const char *in, char *out, size_t out_size, char *why,
                                            size_t why_size);

/* RFC 1123 2.1 host name: letter-digit-hyphen labels that start and end
 * with a letter or digit, 1..63 octets each, at most 253 in all, no trailing
 * dot. */
bool policy_hostname_valid(const char *s);
/* One of RFC 6125 6.4.3's four wildcard label forms as OpenBao lists them:
 * "*", "*x", "x*", "x*y" with x, y LDH label text. */
bool policy_wildcard_label_valid(const char *label, size_t len);
/* What any dNSName must be even with enforce_hostnames off: printable ASCII
 * without spaces (IA5String, RFC 5280 4.2.1.6), labels 1..63, at most 253. */
bool policy_dns_syntax_valid(const char *s);
/* A hostname, or a name whose left-most label is one of the four wildcard
 * forms and whose rest is a hostname: what may go into a dNSName SAN. */
bool policy_dns_name_shaped(const char *s);

/* OpenBao's validateNames for one name (A-label form): wildcard rules,
 * enforce_hostnames, allow_any_name, allow_localhost and allowed_domains with
 * allow_bare_domains / allow_subdomains / allow_glob_domains, each tried on
 * its own (they are independent, as the reference says). Email addresses
 * are judged by their domain part. false with why naming the rule. */
bool policy_name_allowed(const hsmca_role *role, const char *name, char *why, size_t why_size);

#endif
