/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 7512 "pkcs11:" URIs: parsing into attributes, matching a token, and
 * formatting a canonical URI for a key object. */
#ifndef HSMCA_P11_URI_H
#define HSMCA_P11_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "hsmca/rv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 7512 section 2.3 "type" values. */
typedef enum {
    HSMCA_P11_URI_TYPE_ANY = 0, /* attribute absent */
    HSMCA_P11_URI_TYPE_PRIVATE,
    HSMCA_P11_URI_TYPE_PUBLIC,
    HSMCA_P11_URI_TYPE_CERT,
    HSMCA_P11_URI_TYPE_SECRET_KEY,
    HSMCA_P11_URI_TYPE_DATA
} hsmca_p11_uri_type;

/* Every string member is NUL-terminated, percent-decoded, NULL when absent.
 * id is binary (decoded from %XX), id_len 0 when absent. */
typedef struct hsmca_p11_uri {
    /* path attributes (token and object) */
    char *token;        /* "token": CK_TOKEN_INFO.label */
    char *manufacturer; /* CK_TOKEN_INFO.manufacturerID */
    char *model;        /* CK_TOKEN_INFO.model */
    char *serial;       /* CK_TOKEN_INFO.serialNumber */
    char *object;       /* CKA_LABEL */
    unsigned char *id;  /* CKA_ID */
    size_t id_len;
    hsmca_p11_uri_type type;
    /* library / slot attributes: parsed so they can be matched or refused */
    char *library_manufacturer;
    char *library_description;
    char *library_version; /* "M[.N]" as written */
    char *slot_description;
    char *slot_manufacturer;
    bool has_slot_id;
    unsigned long slot_id;
    /* query attributes */
    char *pin_source;  /* e.g. "file:/run/pin" or "/run/pin" */
    char *pin_value;   /* parsed so callers can refuse it: PINs never in URIs */
    char *module_name;
    char *module_path;
} hsmca_p11_uri;

/* Parses text (which must start with "pkcs11:", case-insensitive scheme) into
 * a new URI. Unknown path attributes are refused (RFC 7512 2.3: a consumer
 * must not ignore path attributes it does not know); unknown query attributes
 * are ignored. Duplicate path attributes, bad percent-encoding, empty names,
 * a non-numeric slot-id and a bad "type" are refused. Errors are
 * HSMCA_ERR_INVALID_ARG with a detail naming the attribute. Input longer than
 * HSMCA_P11_URI_MAX is refused. */
#define HSMCA_P11_URI_MAX 4096
hsmca_rv hsmca_p11_uri_parse(const char *text, hsmca_p11_uri **out);
void hsmca_p11_uri_free(hsmca_p11_uri *uri);

/* True when every token attribute present in uri (token, manufacturer,
 * model, serial) equals the given value exactly. NULL arguments never match
 * a present attribute. */
bool hsmca_p11_uri_match_token(const hsmca_p11_uri *uri, const char *label,
                               const char *manufacturer, const char *model,
                               const char *serial);

/* Formats a canonical URI: path attributes in the order token, manufacturer,
 * model, serial, object, id, type; then "?pin-source=..." if set. Characters
 * outside RFC 7512's pchar set (unreserved / ":" / "[" / "]" / "@" / "!" /
 * "$" / "'" / "(" / ")" / "*" / "+" / "," / "=" / "&") are percent-encoded;
 * id is always fully percent-encoded. Returns a malloc'd string or NULL. */
char *hsmca_p11_uri_format(const hsmca_p11_uri *uri);

#ifdef __cplusplus
}
#endif
#endif
