/* SPDX-License-Identifier: Apache-2.0 */
/* p11raw: a tiny PKCS#11 client, independent of libhsmca, that asks a token
 * for raw attribute values of a key object. Tests use it to prove that the
 * private values of hsmca's keys cannot be read (CKR_ATTRIBUTE_SENSITIVE).
 *
 *   p11raw MODULE TOKEN_LABEL PIN_FILE LABEL private|public|secret ATTR...
 *
 * ATTR is a CKA_ name without the prefix (PRIVATE_EXPONENT, VALUE, MODULUS,
 * EC_POINT, ...). For each it prints one line:
 *
 *   ATTR size_rv=CKR_... value_rv=CKR_... len=N|unavailable written=N
 *
 * size_rv is C_GetAttributeValue with pValue NULL (length query), value_rv
 * the same with a zeroed 16 KiB buffer; written counts the non-zero bytes the
 * module put into that buffer (for a CK_BBOOL attribute: 1 = TRUE). Exit
 * status 0 when every attribute could be asked about, 1 when the key cannot
 * be found or the token cannot be used. "secret" looks for a CKO_SECRET_KEY
 * (the audit log's HMAC key). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#define VALUE_BUF 16384

static const struct {
    const char *name;
    CK_ATTRIBUTE_TYPE type;
} attrs[] = {
    {"VALUE", CKA_VALUE},
    {"PRIVATE_EXPONENT", CKA_PRIVATE_EXPONENT},
    {"PRIME_1", CKA_PRIME_1},
    {"PRIME_2", CKA_PRIME_2},
    {"EXPONENT_1", CKA_EXPONENT_1},
    {"EXPONENT_2", CKA_EXPONENT_2},
    {"COEFFICIENT", CKA_COEFFICIENT},
    {"MODULUS", CKA_MODULUS},
    {"PUBLIC_EXPONENT", CKA_PUBLIC_EXPONENT},
    {"EC_PARAMS", CKA_EC_PARAMS},
    {"EC_POINT", CKA_EC_POINT},
    {"ID", CKA_ID},
    {"LABEL", CKA_LABEL},
    {"SENSITIVE", CKA_SENSITIVE},
    {"EXTRACTABLE", CKA_EXTRACTABLE},
    {"ALWAYS_SENSITIVE", CKA_ALWAYS_SENSITIVE},
    {"NEVER_EXTRACTABLE", CKA_NEVER_EXTRACTABLE},
    {"VALUE_LEN", CKA_VALUE_LEN},
};

static const struct {
    const char *name;
    CK_RV rv;
} rvs[] = {
    {"CKR_OK", CKR_OK},
    {"CKR_ATTRIBUTE_SENSITIVE", CKR_ATTRIBUTE_SENSITIVE},
    {"CKR_ATTRIBUTE_TYPE_INVALID", CKR_ATTRIBUTE_TYPE_INVALID},
    {"CKR_BUFFER_TOO_SMALL", CKR_BUFFER_TOO_SMALL},
    {"CKR_OBJECT_HANDLE_INVALID", CKR_OBJECT_HANDLE_INVALID},
    {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
    {"CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN},
    {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
    {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
    {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
    {"CKR_ARGUMENTS_BAD", CKR_ARGUMENTS_BAD},
};

static const char *rv_name(CK_RV rv)
{
    static char buf[32];

    for (size_t i = 0; i < sizeof(rvs) / sizeof(rvs[0]); i++)
        if (rvs[i].rv == rv)
            return rvs[i].name;
    snprintf(buf, sizeof(buf), "0x%08lx", (unsigned long)rv);
    return buf;
}

static int attr_type(const char *name, CK_ATTRIBUTE_TYPE *out)
{
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        if (strcmp(attrs[i].name, name) == 0) {
            *out = attrs[i].type;
            return 1;
        }
    }
    return 0;
}

/* The first line of the PIN file, without its line ending. */
static int read_pin(const char *path, char *pin, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL || fgets(pin, (int)size, f) == NULL) {
        if (f != NULL)
            fclose(f);
        return 0;
    }
    fclose(f);
    n = strcspn(pin, "\r\n");
    pin[n] = '\0';
    return n > 0;
}

static int label_matches(const CK_TOKEN_INFO *ti, const char *label)
{
    size_t n = strlen(label);

    if (n > sizeof(ti->label))
        return 0;
    if (memcmp(ti->label, label, n) != 0)
        return 0;
    for (size_t i = n; i < sizeof(ti->label); i++)
        if (ti->label[i] != ' ')
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    CK_FUNCTION_LIST *fl = NULL;
    CK_C_GetFunctionList get_list;
    CK_C_INITIALIZE_ARGS init = {.flags = CKF_OS_LOCKING_OK};
    CK_SLOT_ID slots[64];
    CK_ULONG n_slots = 64, found = 0;
    CK_SLOT_ID slot = 0;
    CK_SESSION_HANDLE sess = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE objs[2];
    CK_OBJECT_CLASS cls;
    CK_ATTRIBUTE tmpl[2];
    CK_RV rv;
    char pin[256];
    int have_slot = 0, rc = 1;
    void *dl, *sym;
    unsigned char *buf = NULL;

    if (argc < 7 || (strcmp(argv[5], "private") != 0 && strcmp(argv[5], "public") != 0 &&
                     strcmp(argv[5], "secret") != 0)) {
        fprintf(stderr, "usage: p11raw MODULE TOKEN_LABEL PIN_FILE LABEL private|public|secret ATTR...\n");
        return 2;
    }
    cls = strcmp(argv[5], "private") == 0 ? CKO_PRIVATE_KEY
          : strcmp(argv[5], "secret") == 0 ? CKO_SECRET_KEY
                                           : CKO_PUBLIC_KEY;
    if (!read_pin(argv[3], pin, sizeof(pin))) {
        fprintf(stderr, "p11raw: cannot read a PIN from %s\n", argv[3]);
        return 1;
    }
    dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        fprintf(stderr, "p11raw: dlopen %s: %s\n", argv[1], dlerror());
        return 1;
    }
    sym = dlsym(dl, "C_GetFunctionList");
    if (sym == NULL) {
        fprintf(stderr, "p11raw: %s has no C_GetFunctionList\n", argv[1]);
        return 1;
    }
    memcpy(&get_list, &sym, sizeof(get_list));
    if ((rv = get_list(&fl)) != CKR_OK || (rv = fl->C_Initialize(&init)) != CKR_OK) {
        fprintf(stderr, "p11raw: loading the module failed: %s\n", rv_name(rv));
        return 1;
    }
    if ((rv = fl->C_GetSlotList(CK_TRUE, slots, &n_slots)) != CKR_OK) {
        fprintf(stderr, "p11raw: C_GetSlotList: %s\n", rv_name(rv));
        goto done;
    }
    for (CK_ULONG i = 0; i < n_slots && !have_slot; i++) {
        CK_TOKEN_INFO ti;
        if (fl->C_GetTokenInfo(slots[i], &ti) == CKR_OK && label_matches(&ti, argv[2])) {
            slot = slots[i];
            have_slot = 1;
        }
    }
    if (!have_slot) {
        fprintf(stderr, "p11raw: no token labelled '%s'\n", argv[2]);
        goto done;
    }
    if ((rv = fl->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &sess)) != CKR_OK ||
        (rv = fl->C_Login(sess, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin))) != CKR_OK) {
        fprintf(stderr, "p11raw: opening a logged-in session: %s\n", rv_name(rv));
        goto done;
    }
    tmpl[0] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof(cls)};
    tmpl[1] = (CK_ATTRIBUTE){CKA_LABEL, argv[4], strlen(argv[4])};
    if ((rv = fl->C_FindObjectsInit(sess, tmpl, 2)) != CKR_OK ||
        (rv = fl->C_FindObjects(sess, objs, 2, &found)) != CKR_OK) {
        fprintf(stderr, "p11raw: C_FindObjects: %s\n", rv_name(rv));
        goto done;
    }
    fl->C_FindObjectsFinal(sess);
    if (found != 1) {
        fprintf(stderr, "p11raw: %lu %s key objects labelled '%s' (need exactly 1)\n",
                (unsigned long)found, argv[5], argv[4]);
        goto done;
    }
    buf = malloc(VALUE_BUF);
    if (buf == NULL)
        goto done;
    for (int i = 6; i < argc; i++) {
        CK_ATTRIBUTE a;
        CK_RV size_rv, value_rv;
        size_t written = 0;

        if (!attr_type(argv[i], &a.type)) {
            fprintf(stderr, "p11raw: unknown attribute %s\n", argv[i]);
            goto done;
        }
        a.pValue = NULL;
        a.ulValueLen = 0;
        size_rv = fl->C_GetAttributeValue(sess, objs[0], &a, 1);
        memset(buf, 0, VALUE_BUF);
        a.pValue = buf;
        a.ulValueLen = VALUE_BUF;
        value_rv = fl->C_GetAttributeValue(sess, objs[0], &a, 1);
        for (size_t j = 0; j < VALUE_BUF; j++)
            written += buf[j] != 0;
        printf("%s size_rv=%s", argv[i], rv_name(size_rv));
        printf(" value_rv=%s", rv_name(value_rv));
        if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
            printf(" len=unavailable");
        else
            printf(" len=%lu", (unsigned long)a.ulValueLen);
        printf(" written=%zu\n", written);
    }
    rc = 0;
done:
    free(buf);
    memset(pin, 0, sizeof(pin));
    if (sess != CK_INVALID_HANDLE)
        fl->C_CloseSession(sess);
    fl->C_Finalize(NULL);
    return rc;
}
