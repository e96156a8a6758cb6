/* probe.h: what the C library's timing probes share (conv_timing.c, pool_activation_timing.c): a monotonic clock and
 * buffers of fixed values, so that every run times the same arithmetic. */
#ifndef PRELU_PROBE_H
#define PRELU_PROBE_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double probe_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* count floats of scale * ((i * multiplier) % 1000 / 1000 - 0.5); out of memory, the probe (named) exits with a message. */
static float *probe_filled(const char *probe, size_t count, unsigned multiplier, float scale) {
    float *p = malloc(count * sizeof(float));
    if (!p) {
        fprintf(stderr, "%s: out of memory for %zu floats\n", probe, count);
        exit(1);
    }
    for (size_t i = 0; i < count; i++) p[i] = scale * ((float)((i * multiplier) % 1000) / 1000.0f - 0.5f);
    return p;
}

#endif
