/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the ceremony transcript checker, which the daemon
 * runs on the `transcript` field of an issuer import: any input must be
 * judged cleanly, and a transcript judged good must have a verified signer
 * and no recorded problem. */
#include <stdint.h>
#include <stdlib.h>

#include "hsmca/transcript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hsmca_transcript t;
    hsmca_rv rv = hsmca_transcript_check((const char *)data, size, NULL, NULL, &t);

    if (rv == HSMCA_OK && (t.signer == NULL || t.failures != 0))
        abort(); /* accepted without a verified signature */
    if (rv == HSMCA_ERR_INVALID_ARG && t.failures == 0)
        abort(); /* refused without saying why */
    hsmca_transcript_clear(&t);
    return 0;
}
