/* gemm.h: C (M x N) [+]= A (M x K) * B (K x N), the product under every convolution and dense layer.
 *
 * A and B are read through views (element (i, j) at data[i * rs + j * cs]), so a transposed operand is
 * read in place. B is packed into the micro-kernel's order before use (as BLIS does): panels of NR columns,
 * each [p][NR], zero-padded to a whole panel, so that the micro-kernel loads contiguous vectors and never
 * branches on a column edge inside its loop. A thin product (N = 64 for the study's second convolution: each element
 * of A serves only N outputs) reads A straight from the view: the micro-kernel broadcasts its MR values of each step
 * from MR row streams, or one contiguous run of MR when A is a transposed operand. A wide one (a dense layer's 256 or
 * 1,600 columns) packs each block of A once into MR-row panels, [p][MR], so that every column panel of B meets one
 * contiguous stream of A instead of MR streams a row apart (gemm_packed). K runs in balanced blocks of at most KC_MAX
 * (with KC_MAX 192, 288 is two blocks of 144): a B panel (kc x NR) stays in L1 while rows of A stream past it.
 * A product whose B serves many calls (a convolution's kernel, for every image) packs it once (pack_b) and
 * calls gemm_packed; gemm packs its own.
 *
 * A view of A can also gather: its rows may start at offsets from a table (a convolution's output positions),
 * and its columns may come in runs, each run contiguous with stride cs and starting at an offset from a second
 * table (the rows of a convolution's window). That reads a convolution's im2col matrix straight from the
 * input, which is then never copied (conv2d.h); K blocks then hold whole runs.
 *
 * The register block of C is MR x NR accumulators: 12 x 32 in 24 of AVX-512's 32 zmm registers, 6 x 16 in 12
 * of AVX2's 16 ymm registers, 6 x 12 in 18 of NEON's 32 q registers. Each step of p loads one row of the B panel and
 * broadcasts MR values of A.
 * The order of every sum is fixed by the shapes alone: the same bits on every run of a given build. */

#if defined(PRELU_AVX512)
#define MR 12
#define NR 32
#elif defined(PRELU_NEON)
#define MR 6
#define NR 12
#else
#define MR 6
#define NR 16
#endif
/* A B panel (KC_MAX x NR floats) takes 24 KB: half of a 48 KB L1, the rest for the A panel streaming past. */
#define KC_MAX (6144 / NR)

/* Element (i, j) is data[row(i) + column(j)], where row(i) is row_table[i] if there is a table, else i * rs;
 * and column(j) is run_table[j / run] + (j % run) * cs if run > 0, else j * cs. */
typedef struct matrix_view {
    const float *data;
    long rs, cs;
    const long *row_table;
    int run;
    const long *run_table;
} matrix_view;

static inline matrix_view view(const float *data, long rs, long cs) {
    matrix_view v = {data, rs, cs, NULL, 0, NULL};
    return v;
}

/* The view that starts at (i, j) of v; with runs, j must start a run. */
static inline matrix_view view_at(matrix_view v, long i, long j) {
    if (v.row_table)
        v.row_table += i;
    else
        v.data += i * v.rs;
    if (v.run > 0)
        v.run_table += j / v.run;
    else
        v.data += j * v.cs;
    return v;
}

static inline int round_up(int n, int multiple) { return (n + multiple - 1) / multiple * multiple; }

/* The nominal length of K's blocks in a product whose A is `a`: balanced blocks of at most KC_MAX, or as
 * many whole runs as fit in KC_MAX (at least one). pack_b must pack B with the same blocks. */
static inline int k_block(matrix_view a, int k) {
    if (a.run > 0) return a.run * (KC_MAX / a.run > 1 ? KC_MAX / a.run : 1);
    int blocks = (k + KC_MAX - 1) / KC_MAX;
    return blocks < 1 ? 1 : (k + blocks - 1) / blocks;
}

/* Floats that pack_b writes for a K x N operand. */
static inline size_t packed_b_floats(int k, int n) { return (size_t)k * round_up(n, NR) + NR; }

/* B (K x N) into panels, K in blocks of kc_nominal (k_block of the product's A): the block of K starting at pc
 * begins at pc * round_up(N, NR); in it, the panel of columns [jp * NR, jp * NR + NR) is kc x NR floats at
 * jp * NR * kc. pack_b_panel packs one panel, columns [j0, j0 + NR), in every block of K. */
static void pack_b_panel(int k, int kc_nominal, int n, matrix_view b, float *dst, int j0) {
    int n_padded = round_up(n, NR), nr = min_int(NR, n - j0);
    for (int pc = 0; pc < k; pc += kc_nominal) {
        int kc = min_int(kc_nominal, k - pc);
        float *panel = dst + (long)pc * n_padded + (long)j0 * kc;
        for (int p = 0; p < kc; p++) {
            const float *src = b.data + (long)(pc + p) * b.rs + (long)j0 * b.cs;
            float *row = panel + (long)p * NR;
            if (b.cs == 1) {
                memcpy(row, src, (size_t)nr * sizeof(float));
            } else {
                for (int j = 0; j < nr; j++) row[j] = src[j * b.cs];
            }
            for (int j = nr; j < NR; j++) row[j] = 0.0f;
        }
    }
}

static void pack_b(int k, int kc_nominal, int n, matrix_view b, float *dst) {
    for (int j0 = 0; j0 < n; j0 += NR) pack_b_panel(k, kc_nominal, n, b, dst, j0);
}

/* pack_b with its panels shared out between the threads of the enclosing parallel region, which wait for
 * each other at its end (a packed B feeds every thread): the dense layers' B is 400,000 floats. */
static void pack_b_shared(int k, int kc_nominal, int n, matrix_view b, float *dst) {
    int panels = (n + NR - 1) / NR;
#pragma omp for schedule(static)
    for (int panel = 0; panel < panels; panel++) pack_b_panel(k, kc_nominal, n, b, dst, panel * NR);
}

/* ---- Micro-kernels: C (mr x nr of an MR x NR block) [+]= A (mr rows of a view) * packed B panel -------- */

/* Offsets of the MR rows of A from the block's first row; rows past mr repeat the last one, whose results the
 * store drops, so that the loop never reads outside A. */
static inline void row_offsets(matrix_view a, int mr, long offsets[MR]) {
    for (int r = 0; r < MR; r++) {
        int row = r < mr ? r : mr - 1;
        offsets[r] = a.row_table ? a.row_table[row] : (long)row * a.rs;
    }
}

/* The start of run s of a block of A (the whole block when A has no runs), and the runs' length. */
static inline const float *run_start(matrix_view a, int s) { return a.run > 0 ? a.data + a.run_table[s] : a.data; }

static inline int run_length(matrix_view a, int kc) { return a.run > 0 ? a.run : kc; }

#if defined(PRELU_AVX512)
/* 24 accumulators; per step of p: two loads of B, 12 broadcasts of A (folded into the FMAs), 24 FMAs. Edges
 * store through masks: rows past mr are skipped, columns past nr masked off. */
static void micro_tile(int kc, matrix_view a, const float *restrict b, float *c, long ldc, int mr, int nr,
                       int accumulate) {
    __m512 c0[MR], c1[MR];
    long offset[MR];
    row_offsets(a, mr, offset);
    int run = run_length(a, kc);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int p0 = 0, s = 0; p0 < kc; p0 += run, s++) {
        const float *ap = run_start(a, s);
        for (int q = 0; q < run; q++) {
            __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
            for (int r = 0; r < MR; r++) {
                __m512 ar = _mm512_set1_ps(ap[offset[r]]);
                c0[r] = _mm512_fmadd_ps(ar, b0, c0[r]);
                c1[r] = _mm512_fmadd_ps(ar, b1, c1[r]);
            }
            ap += a.cs;
            b += NR;
        }
    }
    __mmask16 m0 = lanes_mask(nr), m1 = lanes_mask(nr - 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        if (r < mr) {
            float *row = c + r * ldc;
            if (accumulate) {
                c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, row));
                c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, row + 16));
            }
            _mm512_mask_storeu_ps(row, m0, c0[r]);
            _mm512_mask_storeu_ps(row + 16, m1, c1[r]);
        }
    }
}
#else
/* The edge of a block (mr < MR or nr < NR): the full block was computed into `tile`; copy what belongs to C. */
static void store_edge(const float *tile, float *c, long ldc, int mr, int nr, int accumulate) {
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0.0f) + tile[r * NR + j];
}

#if defined(PRELU_AVX2)
/* 12 accumulators; per step of p: two loads of B, 6 broadcasts of A, 12 FMAs. */
static void micro_tile(int kc, matrix_view a, const float *restrict b, float *c, long ldc, int mr, int nr,
                       int accumulate) {
    __m256 c0[MR], c1[MR];
    long offset[MR];
    row_offsets(a, mr, offset);
    int run = run_length(a, kc);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm256_setzero_ps();
    for (int p0 = 0, s = 0; p0 < kc; p0 += run, s++) {
        const float *ap = run_start(a, s);
        for (int q = 0; q < run; q++) {
            __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
            for (int r = 0; r < MR; r++) {
                __m256 ar = _mm256_broadcast_ss(ap + offset[r]);
                c0[r] = _mm256_fmadd_ps(ar, b0, c0[r]);
                c1[r] = _mm256_fmadd_ps(ar, b1, c1[r]);
            }
            ap += a.cs;
            b += NR;
        }
    }
    if (mr == MR && nr == NR) {
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            float *row = c + r * ldc;
            if (accumulate) {
                c0[r] = _mm256_add_ps(c0[r], _mm256_loadu_ps(row));
                c1[r] = _mm256_add_ps(c1[r], _mm256_loadu_ps(row + 8));
            }
            _mm256_storeu_ps(row, c0[r]);
            _mm256_storeu_ps(row + 8, c1[r]);
        }
        return;
    }
    float tile[MR * NR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        _mm256_storeu_ps(tile + r * NR, c0[r]);
        _mm256_storeu_ps(tile + r * NR + 8, c1[r]);
    }
    store_edge(tile, c, ldc, mr, nr, accumulate);
}
#elif defined(PRELU_NEON)
/* 18 accumulators (6 rows of 3 q registers); per step of p: three loads of B, 6 of A, 18 FMAs by element
 * (fmla v.4s, v.4s, v.s[0]). 18 + 3 + 6 registers of NEON's 32: an 8 x 12 block needs 35, and GCC then kept three
 * accumulators on the stack, loaded and stored on every step (it turns lane-wise loads of A back into scalar ones). */
static void micro_tile(int kc, matrix_view a, const float *restrict b, float *c, long ldc, int mr, int nr,
                       int accumulate) {
    float32x4_t c0[MR], c1[MR], c2[MR];
    long offset[MR];
    row_offsets(a, mr, offset);
    int run = run_length(a, kc);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) c0[r] = c1[r] = c2[r] = vdupq_n_f32(0.0f);
    for (int p0 = 0, s = 0; p0 < kc; p0 += run, s++) {
        const float *ap = run_start(a, s);
        for (int q = 0; q < run; q++) {
            float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
#pragma GCC unroll 6
            for (int r = 0; r < MR; r++) {
                float ar = ap[offset[r]];
                c0[r] = vfmaq_n_f32(c0[r], b0, ar);
                c1[r] = vfmaq_n_f32(c1[r], b1, ar);
                c2[r] = vfmaq_n_f32(c2[r], b2, ar);
            }
            ap += a.cs;
            b += NR;
        }
    }
    if (mr == MR && nr == NR) {
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            float *row = c + r * ldc;
            if (accumulate) {
                c0[r] = vaddq_f32(c0[r], vld1q_f32(row));
                c1[r] = vaddq_f32(c1[r], vld1q_f32(row + 4));
                c2[r] = vaddq_f32(c2[r], vld1q_f32(row + 8));
            }
            vst1q_f32(row, c0[r]);
            vst1q_f32(row + 4, c1[r]);
            vst1q_f32(row + 8, c2[r]);
        }
        return;
    }
    float tile[MR * NR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        vst1q_f32(tile + r * NR, c0[r]);
        vst1q_f32(tile + r * NR + 4, c1[r]);
        vst1q_f32(tile + r * NR + 8, c2[r]);
    }
    store_edge(tile, c, ldc, mr, nr, accumulate);
}
#else
/* Plain C; the compiler vectorises the inner loop with the baseline's SSE. */
static void micro_tile(int kc, matrix_view a, const float *restrict b, float *c, long ldc, int mr, int nr,
                       int accumulate) {
    float tile[MR * NR] = {0};
    long offset[MR];
    row_offsets(a, mr, offset);
    int run = run_length(a, kc);
    for (int p0 = 0, s = 0; p0 < kc; p0 += run, s++) {
        const float *ap = run_start(a, s);
        for (int q = 0; q < run; q++) {
            for (int r = 0; r < mr; r++)
                for (int j = 0; j < NR; j++) tile[r * NR + j] += ap[offset[r]] * b[j];
            ap += a.cs;
            b += NR;
        }
    }
    store_edge(tile, c, ldc, mr, nr, accumulate);
}
#endif
#endif

/* ---- Drivers ---------------------------------------------------------------------------------------- */

/* C (m x n) [+]= A (m x kc, a view at the block's first column) * one block of packed B (b_block: where pack_b
 * put rows [pc, pc + kc)). Column panels outside, so that a B panel stays in L1 while every row of A passes. */
static void gemm_block(int m, int n, int kc, matrix_view a, const float *b_block, float *c, long ldc, int accumulate) {
    for (int j0 = 0; j0 < n; j0 += NR) {
        int nr = min_int(NR, n - j0);
        const float *b_panel = b_block + (long)j0 * kc;
        for (int i0 = 0; i0 < m; i0 += MR)
            micro_tile(kc, view_at(a, i0, 0), b_panel, c + (long)i0 * ldc + j0, ldc, min_int(MR, m - i0), nr, accumulate);
    }
}

/* The start of the block of packed B that holds rows [pc, ...) of a K x N operand. */
static inline const float *packed_b_block(const float *b_packed, int n, int pc) { return b_packed + (long)pc * round_up(n, NR); }

/* Columns of B from which a block of A is packed first: with fewer, the packing costs about what it saves. Four of
 * AVX-512's panels; as four of AVX2's (64 columns) it packed every Winograd product's 12 rows of A, a scalar copy that
 * took a fifth of a 7x7x64 convolution's products on a Zen 3. */
#define PACK_A_COLUMNS 128

/* Rows [0, m) of A's block (m x kc, a view at the block's first column) into MR-row panels: panel i holds rows
 * [i MR, i MR + MR) as kc steps of MR floats (a last panel's places past m are left unset: the micro-kernel repeats
 * a short block's last row rather than read them). gemm_block_packed_a reads it. */
static void pack_a_block(int m, int kc, matrix_view a, float *dst) {
    for (int i0 = 0; i0 < m; i0 += MR) {
        int mr = min_int(MR, m - i0);
        float *panel = dst + (long)i0 * kc;
        if (!a.row_table && a.run == 0 && a.rs == 1) {
            /* A transposed operand (a dense layer's input, for its kernel gradient): a step's MR values are contiguous. */
#if defined(PRELU_AVX512)
            __mmask16 rows = lanes_mask(mr);
            for (int p = 0; p < kc; p++)
                _mm512_mask_storeu_ps(panel + (long)p * MR, rows, _mm512_maskz_loadu_ps(rows, a.data + i0 + (long)p * a.cs));
#else
            for (int p = 0; p < kc; p++)
                for (int r = 0; r < mr; r++) panel[(long)p * MR + r] = a.data[i0 + r + (long)p * a.cs];
#endif
            continue;
        }
        int run = run_length(a, kc);
        for (int r = 0; r < mr; r++) {
            long row = a.row_table ? a.row_table[i0 + r] : (long)(i0 + r) * a.rs;
            for (int p0 = 0, s = 0; p0 < kc; p0 += run, s++) {
                const float *src = run_start(a, s) + row;
                for (int q = 0; q < run; q++) panel[(long)(p0 + q) * MR + r] = src[(long)q * a.cs];
            }
        }
    }
}

/* C (m x n) [+]= packed A block (pack_a_block) * one block of packed B. gemm_block's loops, but each register block of
 * A is a plain view (rs 1, cs MR) of its panel: with no row table GCC builds a micro-kernel that broadcasts at fixed
 * displacements (a row table for the packed rows measured 10% slower on the dense layer). */
static void gemm_block_packed_a(int m, int n, int kc, const float *a_packed, const float *b_block, float *c, long ldc, int accumulate) {
    for (int j0 = 0; j0 < n; j0 += NR) {
        int nr = min_int(NR, n - j0);
        const float *b_panel = b_block + (long)j0 * kc;
        for (int i0 = 0; i0 < m; i0 += MR)
            micro_tile(kc, view(a_packed + (long)i0 * kc, 1, MR), b_panel, c + (long)i0 * ldc + j0, ldc, min_int(MR, m - i0), nr,
                       accumulate);
    }
}

/* gemm_packed without counting its flops: for callers that count many products at once (Winograd's 16 or 36 a chunk). */
static void gemm_packed_uncounted(int m, int n, int k, matrix_view a, const float *b_packed, float *c, long ldc, int accumulate) {
    if (k == 0) {
        if (!accumulate)
            for (int i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    int kc_nominal = k_block(a, k), pack_a = n >= PACK_A_COLUMNS;
    float *a_packed = pack_a ? prelu_scratch(PRELU_SCRATCH_PACKED_A, (size_t)round_up(m, MR) * kc_nominal) : NULL;
    for (int pc = 0; pc < k; pc += kc_nominal) {
        int kc = min_int(kc_nominal, k - pc);
        matrix_view a_block = view_at(a, 0, pc);
        const float *b_block = packed_b_block(b_packed, n, pc);
        if (pack_a) {
            pack_a_block(m, kc, a_block, a_packed);
            gemm_block_packed_a(m, n, kc, a_packed, b_block, c, ldc, accumulate || pc > 0);
        } else {
            gemm_block(m, n, kc, a_block, b_block, c, ldc, accumulate || pc > 0);
        }
    }
}

/* C = [C +] A * B with B already packed by pack_b(k, k_block(a, k), n, ...). Single-threaded: callers split the work. */
static void gemm_packed(int m, int n, int k, matrix_view a, const float *b_packed, float *c, long ldc, int accumulate) {
    prelu_count_flops(2 * (int64_t)m * n * k);
    gemm_packed_uncounted(m, n, k, a, b_packed, c, ldc, accumulate);
}

/* C = [C +] A * B, packing B into the calling thread's scratch. */
static void gemm(int m, int n, int k, matrix_view a, matrix_view b, float *c, long ldc, int accumulate) {
    /* A row-major B exactly one panel wide is already in packed order (each block of K is kc rows of NR
     * floats, one after the other): the first convolution's 32 filters, in the AVX-512 build. */
    if (n == NR && b.cs == 1 && b.rs == NR) {
        gemm_packed(m, n, k, a, b.data, c, ldc, accumulate);
        return;
    }
    float *b_packed = prelu_scratch(PRELU_SCRATCH_PACKED_B, packed_b_floats(k, n));
    pack_b(k, k_block(a, k), n, b, b_packed);
    gemm_packed(m, n, k, a, b_packed, c, ldc, accumulate);
}

/* The product with B packed once and the rows of C split between the threads in whole MR blocks. */
static void gemm_parallel(int m, int n, int k, matrix_view a, matrix_view b, float *c, long ldc, int accumulate) {
    float *b_packed = prelu_scratch(PRELU_SCRATCH_SHARED_B, packed_b_floats(k, n));
    int blocks = (m + MR - 1) / MR;
#pragma omp parallel num_threads(prelu_thread_count())
    {
        pack_b_shared(k, k_block(a, k), n, b, b_packed);
        int threads = omp_get_num_threads(), t = omp_get_thread_num();
        int first = blocks * t / threads, last = blocks * (t + 1) / threads;
        int i0 = first * MR, i1 = min_int(last * MR, m);
        if (i1 > i0) gemm_packed(i1 - i0, n, k, view_at(a, i0, 0), b_packed, c + (long)i0 * ldc, ldc, accumulate);
    }
}
