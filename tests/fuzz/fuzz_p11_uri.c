/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the RFC 7512 URI parser: any input must parse or fail
 * cleanly, and whatever parses must survive format -> parse -> format
 * unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsmca/p11_uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hsmca_p11_uri *uri = NULL, *again = NULL;
    char *text, *f1 = NULL, *f2 = NULL;

    text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (hsmca_p11_uri_parse(text, &uri) == HSMCA_OK) {
        f1 = hsmca_p11_uri_format(uri);
        if (f1 != NULL) {
            if (hsmca_p11_uri_parse(f1, &again) != HSMCA_OK)
                abort(); /* we produced a URI we cannot read */
            f2 = hsmca_p11_uri_format(again);
            if (f2 == NULL || strcmp(f1, f2) != 0)
                abort(); /* formatting is not canonical */
        }
    }
    free(f1);
    free(f2);
    hsmca_p11_uri_free(again);
    hsmca_p11_uri_free(uri);
    free(text);
    return 0;
}
