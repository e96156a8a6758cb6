// gemm.cl: C (M x N) = A (M x K) * B (K x N), register-blocked.
//
// Every convolution and dense product (forward, input gradient, kernel gradient) is one of these. The
// host builds this file once per tile: what shapes the code (the vector width, the tiles' rows and vectors,
// the epilogue) is a -D constant, so the accumulators are registers of exact size; the product's sizes and
// strides are arguments, so one program serves every product of that tile. Inside the k loop they only step
// two pointers, and PoCL compiles one program for each tile instead of one for each product shape met.
//   n             the product's columns (C is M x N, the sum runs over K); M and K, the last two arguments
//   a_rs, a_ks    A(i, k) = a[i * a_rs + k * a_ks]: a row-major A has (K, 1), a transposed one (1, M_OF_A)
//   b_ks          B(k, j) = b[k * b_ks + j]: B's rows are contiguous, so they load as vectors
//   rows_per_sample  rows of C that make one sample (OH * OW of a convolution, 1 for dense): PReLU's
//                 per-element alpha of C(i, j) is alpha[(i % rows_per_sample) * n + j]
//   VW            the vector width (it divides n)
//   VARIANTS, MR_i, NV_i  the tiles of kernels gemm_0 .. gemm_{VARIANTS-1}: MR_i rows of C per work-item,
//                 each holding NV_i vectors of VW floats of its rows
//   EPILOGUE      1: C = act(A * B + bias), keeping the pre-activation; 0: C = A * B (or a slice's partial sum)
//
// Each work-item keeps MR x NV vector accumulators in registers and, for every k, loads NV vectors of
// B's row k and MR scalars of A's column k: MR * NV vector FMAs per MR + NV loads. Work-items at the
// edges clamp their loads to the last row and vector and skip the stores outside C, so any M works; n
// must be a multiple of VW (the host picks VW so). The sums run over k in order within a slice, and the
// slices are added in order by prelu.cl's sum_slices: the same bits on every run on one device. A kernel's
// kchunk argument is the K range of one slice along the third NDRange axis (kchunk = K: no split).

// Stores one vector of C at row i, columns j..: the plain sum, or with EPILOGUE bias, the kept
// pre-activation and the activation.
inline void store_vector(VT sum, int i, int j, int n, int rows_per_sample, __global float *out, __global const float *bias, int has_bias,
                         int kind, float leaky, int sharing, __global const float *al, __global const int *map, __global float *z, int has_z) {
#if EPILOGUE
    if (has_bias) sum += VLOAD(bias + j);
    if (has_z) VSTORE(sum, z + i * n + j);
    sum = activate_vector(sum, (i % rows_per_sample) * n + j, j, kind, leaky, sharing, al, map); // the channels are C's columns
#endif
    VSTORE(sum, out + i * n + j);
}

// The variants: gemm_0 is the host's first choice; the tuner times the others (VARIANTS of them, each with
// its MR_i and NV_i) on first use and keeps the fastest. One program holds them all: one build per product.
// The host repeats the section between the markers for i = 0 .. 4, inside #if VARIANTS > i, with MR, NV
// and GEMM_NAME defined as MR_i, NV_i and gemm_i, so each variant's accumulators have its exact size.
// VARIANT BEGIN
__kernel void GEMM_NAME(__global const float *a, int ao, __global const float *b, int bo, __global float *c, int co,
                        __global const float *bias, int biaso, int has_bias, int kind, float leaky, int sharing,
                        __global const float *al, int alo, __global const int *map, __global float *z, int zo, int has_z,
                        int kchunk, int M, int K, int n, int a_rs, int a_ks, int b_ks, int rows_per_sample) {
    const int nvec = n / VW, v0 = get_global_id(0) * NV, i0 = get_global_id(1) * MR;
    const int k0 = get_global_id(2) * kchunk, k1 = min(K, k0 + kchunk);
    __global const float *arow[MR];
#pragma unroll
    for (int r = 0; r < MR; r++) arow[r] = a + ao + min(i0 + r, M - 1) * a_rs;
    int column[NV];
#pragma unroll
    for (int v = 0; v < NV; v++) column[v] = min(v0 + v, nvec - 1) * VW;
    VT acc[MR][NV];
#pragma unroll
    for (int r = 0; r < MR; r++)
#pragma unroll
        for (int v = 0; v < NV; v++) acc[r][v] = (VT)(0.0f);

    for (int k = k0; k < k1; k++) {
        __global const float *brow = b + bo + k * b_ks;
        VT bv[NV];
#pragma unroll
        for (int v = 0; v < NV; v++) bv[v] = VLOAD(brow + column[v]);
#pragma unroll
        for (int r = 0; r < MR; r++) {
            VT av = (VT)(arow[r][k * a_ks]);
#pragma unroll
            for (int v = 0; v < NV; v++) acc[r][v] = fma(av, bv[v], acc[r][v]);
        }
    }

    // A slice of a split K writes its partial sums to its own M x N block of c.
    __global float *out = c + co + get_global_id(2) * M * n;
#pragma unroll
    for (int r = 0; r < MR; r++) {
        int i = i0 + r;
        if (i >= M) break;
#pragma unroll
        for (int v = 0; v < NV; v++) {
            if (v0 + v >= nvec) break;
            store_vector(acc[r][v], i, (v0 + v) * VW, n, rows_per_sample, out, bias + biaso, has_bias, kind, leaky, sharing, al + alo, map, z + zo, has_z);
        }
    }
}
// VARIANT END

// The local-memory tile, for GPUs (the tuner tries it there beside the register-blocked variants;
// LOCAL_TILE defines it). A work-group of LX x LY work-items computes a block of (LY * LMR) rows by
// (LX * VW) columns: for each step of LTK along K, its work-items load the A and B tiles into local memory
// together (zeros past the end of the slice, clamped rows and columns past C's edges), wait, and each
// multiplies its LMR rows by its vector of columns from there. The sums run over k in order, as above.
#ifdef LOCAL_TILE
#define LMR 4
#define LX 8
#define LY 8
#define LTK 16
#define LROWS (LY * LMR)
#define LCOLS (LX * VW)
__kernel __attribute__((reqd_work_group_size(LX, LY, 1)))
void gemm_local(__global const float *a, int ao, __global const float *b, int bo, __global float *c, int co,
                __global const float *bias, int biaso, int has_bias, int kind, float leaky, int sharing,
                __global const float *al, int alo, __global const int *map, __global float *z, int zo, int has_z,
                int kchunk, int M, int K, int n, int a_rs, int a_ks, int b_ks, int rows_per_sample) {
    __local float a_tile[LTK][LROWS];
    __local float b_tile[LTK][LCOLS];
    const int lx = get_local_id(0), ly = get_local_id(1), flat = ly * LX + lx;
    const int row0 = get_group_id(1) * LROWS, col0 = get_group_id(0) * LCOLS;
    const int k0 = get_global_id(2) * kchunk, k1 = min(K, k0 + kchunk);
    VT acc[LMR];
#pragma unroll
    for (int r = 0; r < LMR; r++) acc[r] = (VT)(0.0f);

    for (int kt = k0; kt < k1; kt += LTK) {
        for (int e = flat; e < LTK * LROWS; e += LX * LY) {
            int kk = e / LROWS, rr = e % LROWS, k = kt + kk;
            a_tile[kk][rr] = k < k1 ? a[ao + min(row0 + rr, M - 1) * a_rs + k * a_ks] : 0.0f;
        }
        for (int e = flat; e < LTK * LCOLS; e += LX * LY) {
            int kk = e / LCOLS, cc = e % LCOLS, k = kt + kk;
            b_tile[kk][cc] = k < k1 ? b[bo + k * b_ks + min(col0 + cc, n - 1)] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (int kk = 0; kk < LTK; kk++) {
            VT bv = VLOAD(&b_tile[kk][lx * VW]);
#pragma unroll
            for (int r = 0; r < LMR; r++) acc[r] = fma((VT)(a_tile[kk][ly * LMR + r]), bv, acc[r]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    __global float *out = c + co + get_global_id(2) * M * n;
    int j = col0 + lx * VW;
    if (j >= n) return;
#pragma unroll
    for (int r = 0; r < LMR; r++) {
        int i = row0 + ly * LMR + r;
        if (i >= M) break;
        store_vector(acc[r], i, j, n, rows_per_sample, out, bias + biaso, has_bias, kind, leaky, sharing, al + alo, map, z + zo, has_z);
    }
}
#endif
