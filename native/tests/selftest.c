/* A smoke test of the C library on its own (CTest): it loads, reports itself and sets threads.
 * The kernels are tested from C# against the managed reference. */
#include "prelu.h"

#include <stdio.h>
#include <string.h>

int main(void) {
    if (prelu_abi_version() != PRELU_ABI_VERSION) {
        fprintf(stderr, "ABI version %d, header says %d\n", prelu_abi_version(), PRELU_ABI_VERSION);
        return 1;
    }
    if (strlen(prelu_version()) == 0) return 1;
    prelu_set_threads(1);
    if (prelu_get_threads() != 1) return 1;
    prelu_force_portable(1);
    if (prelu_uses_avx2()) return 1;
    prelu_force_portable(0);
    printf("libprelu %s, cpu features 0x%x, avx2 kernels %d\n", prelu_version(),
           prelu_cpu_features(), prelu_uses_avx2());
    return 0;
}
