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
    int32_t best = prelu_kernels_in_use();
    if (prelu_select_kernels(PRELU_KERNELS_PORTABLE) != PRELU_OK || prelu_kernels_in_use() != PRELU_KERNELS_PORTABLE) return 1;
    if (prelu_select_kernels(99) != PRELU_INVALID_ARGUMENT || prelu_kernels_in_use() != PRELU_KERNELS_PORTABLE) return 1;
    if (prelu_select_kernels(PRELU_KERNELS_BEST) != PRELU_OK || prelu_kernels_in_use() != best) return 1;
    printf("libprelu %s, cpu features 0x%x, kernel set %d\n", prelu_version(), prelu_cpu_features(), best);
    return 0;
}
