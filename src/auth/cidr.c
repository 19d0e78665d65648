/* SPDX-License-Identifier: Apache-2.0 */
/* CIDR blocks of token_bound_cidrs: which addresses a token may be used
 * from, checked at login and on every later use of the token. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "hsmca/auth.h"

/* cidr -> family, network bytes and prefix length; false if malformed. */
static bool cidr_parse(const char *cidr, int *af, unsigned char net[16], long *bits)
{
    char buf[64], *end = NULL;
    const char *slash = strchr(cidr, '/');
    size_t n = slash != NULL ? (size_t)(slash - cidr) : strlen(cidr);
    int bytes;

    *af = strchr(cidr, ':') != NULL ? AF_INET6 : AF_INET;
    bytes = *af == AF_INET6 ? 16 : 4;
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, cidr, n);
    buf[n] = '\0';
    if (inet_pton(*af, buf, net) != 1)
        return false;
    if (slash == NULL) {
        *bits = bytes * 8;
        return true;
    }
    if (slash[1] < '0' || slash[1] > '9')
        return false;
    *bits = strtol(slash + 1, &end, 10);
    return end != NULL && *end == '\0' && *bits >= 0 && *bits <= bytes * 8;
}

bool hsmca_auth_cidr_valid(const char *cidr)
{
    unsigned char net[16];
    long bits;
    int af;

    return cidr != NULL && cidr_parse(cidr, &af, net, &bits);
}

bool hsmca_auth_cidr_contains(const char *cidr, const char *addr)
{
    unsigned char net[16], a[16];
    long bits;
    int af;

    if (cidr == NULL || addr == NULL || !cidr_parse(cidr, &af, net, &bits))
        return false;
    /* An IPv4 client seen on a dual-stack socket as ::ffff:a.b.c.d. */
    if (af == AF_INET && strncasecmp(addr, "::ffff:", 7) == 0 && strchr(addr + 7, ':') == NULL)
        addr += 7;
    if (inet_pton(af, addr, a) != 1)
        return false;
    for (int i = 0; bits > 0; i++, bits -= 8) {
        unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
        if ((net[i] & mask) != (a[i] & mask))
            return false;
    }
    return true;
}

bool hsmca_auth_token_addr_ok(const hsmca_auth_token *t, const char *client_addr)
{
    if (t->bound_cidrs.n == 0)
        return true;
    for (size_t i = 0; i < t->bound_cidrs.n; i++) {
        if (hsmca_auth_cidr_contains(t->bound_cidrs.v[i], client_addr))
            return true;
    }
    return false;
}
