/* patches.h: the pooled convolution's input gradient by 4x4 patches of the input (a 3x3 kernel of stride 1 under 2x2
 * pooling), held in registers while each window's winners add their kernels. */

/* The input gradient pooling window by pooling window, for the commonest shape: a 3x3 convolution of stride 1 under
 * 2x2 pooling (input_gradient_by_patches). A pooling window's four 3x3 input windows lie in a 4x4 patch of the
 * input; in the AVX-512 build sixteen registers hold the patch (16 channels at a time) while every winner of the
 * window adds its filter's kernel, times its dz, at its place; then the patch is added to the input gradient once.
 * By filter (input_gradient_by_winners) each winner updated its nine rows of the input gradient in memory: 18 loads
 * and stores of vectors per winner, against 9 loads of the kernel here. The winners of each window are first sorted
 * by place, so that the place, which fixes the registers a winner adds to, is a constant of the loop; and the kernel
 * is laid out 16 channels at a time (patch_kernel), so that one pass over an image's windows reads a 16-channel slice
 * of it that stays in L1 (the whole kernel, 73 KB for 32 -> 64 channels, does not). The AVX2 build keeps
 * input_gradient_by_winners: its patches (8 channels, two of the patch's rows at a time so that the registers hold them
 * with a winner's kernel, the winners sorted by a scalar loop for want of a compress) measured no faster on a Zen 3, the
 * study's second convolution's backward 8.4-9.0 against 8.5-8.6 ms. */
static inline int input_gradient_by_patches(const prelu_conv2d_shape *s, const prelu_conv2d_shape *pool) {
#if defined(PRELU_AVX512)
    return s->kernel_h == 3 && s->kernel_w == 3 && s->stride_y == 1 && s->stride_x == 1 && pool->kernel_h == 2 && pool->kernel_w == 2;
#else
    (void)s, (void)pool;
    return 0;
#endif
}

/* Floats of the kernel laid out for the patches: slices of 16 input channels (the last one zero-padded), each F x 9 x 16. */
static inline size_t patch_kernel_floats(const prelu_conv2d_shape *s) { return (size_t)s->filters * 9 * round_up(s->in_channels, 16); }

/* Floats (and as many ints) of scratch for one image's winners sorted by place: one per pooled value, and a vector's slack. */
static inline size_t patch_winners_floats(int pooled_per_image, int f) { return (size_t)pooled_per_image * f + 16; }

/* kernel (KH, KW, Cin, F) into patch_kernel's layout; the slices of 16 input channels shared out between the threads. */
static void patch_kernel(const prelu_conv2d_shape *s, const float *kernel, float *dst) {
    int f = s->filters, cin = s->in_channels, slices = (cin + 15) / 16;
#pragma omp for schedule(static)
    for (int h = 0; h < slices * f; h++) {
        int slice = h / f, c = h % f;
        for (int k = 0; k < 9; k++)
            for (int lane = 0; lane < 16; lane++) {
                int channel = slice * 16 + lane;
                dst[((long)h * 9 + k) * 16 + lane] = channel < cin ? kernel[((long)k * cin + channel) * f + c] : 0.0f;
            }
    }
}

/* One image's winners sorted by place: dz and filter (patch_winners_floats each), and 4 counts per pooled value. */
typedef struct patch_winners {
    float *g;
    int32_t *filter, *count;
} patch_winners;

#if defined(PRELU_AVX512)
/* The `count` winners at place (qy, qx) add g times their filter's kernel (one slice of patch_kernel) into the patch. */
static inline __attribute__((always_inline)) void patch_add_place(const int qy, const int qx, __m512 patch[16], int count, const float *g,
                                                                  const int32_t *filter, const float *slice) {
    for (int i = 0; i < count; i++) {
        __m512 gi = _mm512_set1_ps(g[i]);
        const float *w = slice + filter[i] * (9 * 16);
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++) {
                __m512 *at = &patch[(qy + ky) * 4 + qx + kx];
                *at = _mm512_fmadd_ps(gi, _mm512_loadu_ps(w + (ky * 3 + kx) * 16), *at);
            }
    }
}

/* One image's input gradient from its dL/dz at the winners (dz and place, P x F) and the kernel in patch_kernel's
 * layout. */
static void input_gradient_of_patches(const prelu_conv2d_shape *s, int pooled_per_image, const long *input_offset, const float *dz,
                                      const float *place, const float *kernel_p, float *dimage, patch_winners sorted) {
    float *g = sorted.g;
    int32_t *filter = sorted.filter, *count = sorted.count;
    int f = s->filters, cin = s->in_channels;
    long line = (long)s->width * cin;
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    memset(dimage, 0, (size_t)s->height * s->width * cin * sizeof(float));
    /* A multiply-add per kernel element and input channel for each winner, then each window's patch of 16 added in. */
    prelu_count_flops(2 * (int64_t)pooled_per_image * f * 9 * cin + (int64_t)pooled_per_image * 16 * cin);
    /* Each window's winners (dz and filter) sorted by place, compressed in registers and stored whole: the next store
     * overwrites the lanes past a count. */
    for (int p = 0, at = 0; p < pooled_per_image; p++) {
        const float *d = dz + (long)p * f, *won = place + (long)p * f;
        for (int q = 0; q < 4; q++) {
            int first = at;
            for (int c = 0; c < f; c += 16) {
                __mmask16 m = lanes_mask(f - c);
                __mmask16 mine = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, won + c), _mm512_set1_ps((float)q), _CMP_EQ_OQ);
                _mm512_storeu_ps(g + at, _mm512_maskz_compress_ps(mine, _mm512_maskz_loadu_ps(m, d + c)));
                _mm512_storeu_si512(filter + at, _mm512_maskz_compress_epi32(mine, _mm512_add_epi32(lane, _mm512_set1_epi32(c))));
                at += __builtin_popcount(mine);
            }
            count[p * 4 + q] = at - first;
        }
    }
    for (int c0 = 0; c0 < cin; c0 += 16) {
        __mmask16 m = lanes_mask(cin - c0);
        const float *slice = kernel_p + (long)(c0 / 16) * f * 9 * 16;
        for (int p = 0, at = 0; p < pooled_per_image; p++) {
            __m512 patch[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) patch[i] = _mm512_setzero_ps();
            const int32_t *n = count + p * 4;
            patch_add_place(0, 0, patch, n[0], g + at, filter + at, slice);
            at += n[0];
            patch_add_place(0, 1, patch, n[1], g + at, filter + at, slice);
            at += n[1];
            patch_add_place(1, 0, patch, n[2], g + at, filter + at, slice);
            at += n[2];
            patch_add_place(1, 1, patch, n[3], g + at, filter + at, slice);
            at += n[3];
            /* Neighbouring patches overlap: whole vectors are stored unmasked, which forwards to the next patch's loads. */
            float *corner = dimage + input_offset[(long)p * 4] + c0;
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) {
                float *x = corner + (i / 4) * line + (i % 4) * cin;
                __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(m, x), patch[i]);
                if (m == (__mmask16)0xFFFF)
                    _mm512_storeu_ps(x, sum);
                else
                    _mm512_mask_storeu_ps(x, m, sum);
            }
        }
    }
}
#endif
