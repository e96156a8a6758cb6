// prelu.cl: the kernel contract on OpenCL, beside gemm.cl (the products of convolutions and dense
// layers). One work-item per output element, no atomics: every sum (over a window, a batch, a channel,
// a group) is a loop inside the work-item that owns the result, or partial sums over fixed chunks added
// in order by a second kernel, so a run gives the same bits every time on one device. Buffers are
// (pointer, offset in floats) pairs, so that slices of one arena need no sub-buffers. The same math as
// src/Prelu.Runtime/Reference, which the tests hold this file to.

// Shape-specialised builds: for each convolution or pooling shape that has run often (OpenClBackend.SpecialiseAfter
// launches; the generated code's constants), the host builds this file again with -D S_CONV / S_POOL and the sizes,
// and the kernels below replace their size arguments with those constants, so that every loop bound is known to the
// compiler; all but the batch, which no loop reads (the work-items span it), so that one program serves every batch.
// Built without the defines, the kernels use the arguments as passed (any shape).
#ifdef S_CONV
#define CONV_SHAPE() H = S_H; W = S_W; C = S_C; F = S_F; KH = S_KH; KW = S_KW; SY = S_SY; SX = S_SX; PT = S_PT; PL = S_PL; OH = S_OH; OW = S_OW;
#else
#define CONV_SHAPE()
#endif
#ifdef S_POOL
#define POOL_SHAPE() H = S_H; W = S_W; C = S_C; KH = S_KH; KW = S_KW; SY = S_SY; SX = S_SX; PT = S_PT; PL = S_PL; OH = S_OH; OW = S_OW;
#else
#define POOL_SHAPE()
#endif
// A shape-specialised build holds only the kernels that read its shape (S_CONV: im2col and col2im; S_POOL:
// the poolings), each section below inside its #if: the driver compiles every kernel of a program it builds
// (PoCL does, at clBuildProgram), and a layer shape used two of the forty, each compiled once per shape met.
#if defined(S_CONV) || defined(S_POOL)
#define SHAPED_BUILD
#endif

// The alpha of a feature (flat index within a sample): MAPPED reads the feature's alpha from map.
inline float alpha_of(int sharing, int channels, int feature, __global const float *al, __global const int *map) {
    return al[sharing == PER_ELEMENT ? feature : sharing == CHANNEL_WISE ? feature % channels : sharing == SHARED ? 0 : map[feature]];
}

inline float activate(int kind, float leaky, float z, float alpha) {
    if (kind >= SIGMOID) return POINTWISE(kind, leaky, z);
    if (kind == LINEAR || z > 0.0f) return z;
    return kind == RELU ? 0.0f : kind == LEAKY ? leaky * z : alpha * z;
}

// Kernels over NHWC tensors take one spatial position per work-item and loop over its channels, in
// blocks of CB held in private arrays: the channel loop is contiguous memory the compiler vectorises,
// and the position's index arithmetic is paid once for all its channels.
#define CB 16

#if !defined(S_POOL)
// ---- Convolution as a product: im2col, col2im ----------------------------------------------------------

// cols (N * OH * OW, KH * KW * C): row (n, oy, ox) holds the input window of output (oy, ox), zero where
// the window leaves the padded input. The forward product is cols * kernel, the kernel gradient cols^T * dz.
// One work-item per row.
__kernel void im2col(int N, int H, int W, int C, int F, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                     __global const float *x, int xo, __global float *cols) {
    CONV_SHAPE()
    int row = get_global_id(0);
    int ox = row % OW, oy = row / OW % OH, n = row / OW / OH;
    __global float *out = cols + (long)row * (KH * KW * C);
    for (int ky = 0; ky < KH; ky++) {
        int iy = oy * SY - PT + ky;
        for (int kx = 0; kx < KW; kx++) {
            int ix = ox * SX - PL + kx;
            __global float *to = out + (ky * KW + kx) * C;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) {
                __global const float *from = x + xo + ((n * H + iy) * W + ix) * C;
                for (int c = 0; c < C; c++) to[c] = from[c];
            } else {
                for (int c = 0; c < C; c++) to[c] = 0.0f;
            }
        }
    }
}

// dinput (N, H, W, C) = for each input element, the sum of the column-gradient entries (dz * kernel^T)
// that its position fed, in (ky, kx) order. One work-item per input position.
__kernel void col2im(int N, int H, int W, int C, int F, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                     __global const float *dcols, __global float *dx, int dxo) {
    CONV_SHAPE()
    int position = get_global_id(0);
    int ix = position % W, iy = position / W % H, n = position / W / H;
    for (int c0 = 0; c0 < C; c0 += CB) {
        int count = min(CB, C - c0);
        float sum[CB];
        for (int c = 0; c < count; c++) sum[c] = 0.0f;
        for (int ky = 0; ky < KH; ky++) {
            int ty = iy + PT - ky;
            if (ty < 0 || ty % SY != 0 || ty / SY >= OH) continue;
            for (int kx = 0; kx < KW; kx++) {
                int tx = ix + PL - kx;
                if (tx < 0 || tx % SX != 0 || tx / SX >= OW) continue;
                __global const float *from = dcols + (long)((n * OH + ty / SY) * OW + tx / SX) * (KH * KW * C) + (ky * KW + kx) * C + c0;
                for (int c = 0; c < count; c++) sum[c] += from[c];
            }
        }
        for (int c = 0; c < count; c++) dx[dxo + position * C + c0 + c] = sum[c];
    }
}
#endif // !S_POOL: the convolution's shape

#if !defined(SHAPED_BUILD)
// ---- Depthwise convolution (Keras's DepthwiseConv2D): output channel o = c M + j reads input channel c only ----------

// z (N, OH, OW, C M) = bias + the window's products. One work-item per output position, its channels in a loop.
__kernel void depthwise_forward(int N, int H, int W, int C, int M, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                                __global const float *x, int xo, __global const float *k, int ko, __global const float *b, int bo, int has_bias,
                                __global float *z, int zo) {
    int position = get_global_id(0);
    int ox = position % OW, oy = position / OW % OH, n = position / OW / OH, F = C * M;
    __global float *out = z + zo + (long)position * F;
    for (int o = 0; o < F; o++) out[o] = has_bias ? b[bo + o] : 0.0f;
    for (int ky = 0; ky < KH; ky++) {
        int iy = oy * SY - PT + ky;
        if (iy < 0 || iy >= H) continue;
        for (int kx = 0; kx < KW; kx++) {
            int ix = ox * SX - PL + kx;
            if (ix < 0 || ix >= W) continue;
            __global const float *in = x + xo + ((n * H + iy) * W + ix) * C;
            __global const float *w = k + ko + (ky * KW + kx) * F;
            for (int o = 0; o < F; o++) out[o] += in[o / M] * w[o];
        }
    }
}

// dkernel (KH, KW, C M): one work-item per kernel element, the sum over every image and output position in order.
__kernel void depthwise_kernel_grad(int N, int H, int W, int C, int M, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                                    __global const float *x, int xo, __global const float *dz, int dzo, __global float *dk, int dko) {
    int element = get_global_id(0), F = C * M;
    int o = element % F, kx = element / F % KW, ky = element / F / KW, c = o / M;
    float sum = 0.0f;
    for (int n = 0; n < N; n++)
        for (int oy = 0; oy < OH; oy++) {
            int iy = oy * SY - PT + ky;
            if (iy < 0 || iy >= H) continue;
            for (int ox = 0; ox < OW; ox++) {
                int ix = ox * SX - PL + kx;
                if (ix < 0 || ix >= W) continue;
                sum += x[xo + ((n * H + iy) * W + ix) * C + c] * dz[dzo + ((n * OH + oy) * OW + ox) * F + o];
            }
        }
    dk[dko + element] = sum;
}

// dinput (N, H, W, C): one work-item per input position, the outputs its value fed summed in (ky, kx) order.
__kernel void depthwise_input_grad(int N, int H, int W, int C, int M, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                                   __global const float *k, int ko, __global const float *dz, int dzo, __global float *dx, int dxo) {
    int position = get_global_id(0);
    int ix = position % W, iy = position / W % H, n = position / W / H, F = C * M;
    __global float *out = dx + dxo + (long)position * C;
    for (int c = 0; c < C; c++) out[c] = 0.0f;
    for (int ky = 0; ky < KH; ky++) {
        int ty = iy + PT - ky;
        if (ty < 0 || ty % SY != 0 || ty / SY >= OH) continue;
        for (int kx = 0; kx < KW; kx++) {
            int tx = ix + PL - kx;
            if (tx < 0 || tx % SX != 0 || tx / SX >= OW) continue;
            __global const float *g = dz + dzo + ((n * OH + ty / SY) * OW + tx / SX) * F;
            __global const float *w = k + ko + (ky * KW + kx) * F;
            for (int c = 0; c < C; c++) {
                float sum = 0.0f;
                for (int j = 0; j < M; j++) sum += g[c * M + j] * w[c * M + j];
                out[c] += sum;
            }
        }
    }
}

// out (cols, rows) = in (rows, cols) transposed, for each of the consecutive matrices the work-items cover: a kernel's
// transpose is B of the input-gradient product; a convolution kernel's (KH, KW, C, F) as (KH, KW, F, C), conv_pool.cl's.
// One work-item: a block of 8 x 8 (rows from r0, columns from c0; the first two indices) of one matrix (the third),
// read a row at a time and written a column at a time, so that both run along memory: an element a work-item, each
// read a cache line of its own, took 0.9 ms of the study's step on PoCL for the dense layer's 1600 x 256 kernel.
__kernel void transpose(int rows, int cols, __global const float *in, int io, __global float *out) {
    const int c0 = get_global_id(0) * 8, r0 = get_global_id(1) * 8;
    const long matrix = (long)get_global_id(2) * rows * cols;
    __global const float *from = in + io + matrix;
    __global float *to = out + matrix;
    float block[8][8];
    for (int a = 0; a < 8; a++)
        for (int b = 0; b < 8; b++) block[a][b] = r0 + a < rows && c0 + b < cols ? from[(r0 + a) * cols + c0 + b] : 0.0f;
    for (int b = 0; b < 8; b++)
        for (int a = 0; a < 8; a++)
            if (c0 + b < cols && r0 + a < rows) to[(c0 + b) * rows + r0 + a] = block[a][b];
}

// A product whose K was split into slices: c = the sum of the partial products that gemm.cl wrote to
// consecutive blocks of length floats, in slice order. Here, not in gemm.cl, so that PoCL compiles it once
// and not once for every product shape's program.
__kernel void sum_slices(int slices, int length, __global const float *partials, __global float *c, int co) {
    int index = get_global_id(0);
    float sum = 0.0f;
    for (int s = 0; s < slices; s++) sum += partials[s * length + index];
    c[co + index] = sum;
}

// ---- Sums down the columns of a (rows, cols) matrix, in two fixed-order passes ---------------------------

// PReLU's backward over its input seen as (rows, cols), where every element of column j uses one alpha
// (per element: (batch, features); channel-wise: (batch * positions, channels); one alpha: (all, 1);
// irregular axes: (batch, features) through map). In one pass over each element: the alpha gradient's
// partial sum over a chunk of rows, partials (chunks, cols), of z <= 0 ? z * g : 0 (column_finish adds
// the chunks), and g = dL/dy turned into dL/dz in place.
__kernel void prelu_backward(int rows, int cols, int rows_per_chunk, int sharing, __global const float *z, int zo,
                             __global const float *al, int alo, __global const int *map, __global float *g, int go,
                             __global float *partials) {
    int j = get_global_id(0), chunk = get_global_id(1);
    float alpha = al[alo + (sharing == SHARED ? 0 : sharing == MAPPED ? map[j] : j)];
    int end = min(rows, (chunk + 1) * rows_per_chunk);
    float sum = 0.0f;
    for (int r = chunk * rows_per_chunk; r < end; r++) {
        int i = r * cols + j;
        float zi = z[zo + i], gi = g[go + i];
        bool negative = !(zi > 0.0f); // as the reference (a NaN takes the negative side); branch-free, so that the compiler vectorises across work-items
        sum += negative ? zi * gi : 0.0f;
        g[go + i] = negative ? gi * alpha : gi;
    }
    partials[chunk * cols + j] = sum;
}

// partials (chunks, cols): the sum of column j of g over rows [chunk * rows_per_chunk, ...) (a bias gradient).
__kernel void column_partials(int rows, int cols, int rows_per_chunk, __global const float *g, int go, __global float *partials) {
    int j = get_global_id(0), chunk = get_global_id(1);
    int end = min(rows, (chunk + 1) * rows_per_chunk);
    float sum = 0.0f;
    for (int r = chunk * rows_per_chunk; r < end; r++) sum += g[go + r * cols + j];
    partials[chunk * cols + j] = sum;
}

// column_partials for 8 columns a work-item from 8 * get_global_id(0) (cols a multiple of 8): each column's sum the
// same, in the same order; one load of 8 floats where PoCL had left a scalar load a column (the study's bias sums,
// about 1 ms of its step on PoCL).
__kernel void column_partials_by8(int rows, int cols, int rows_per_chunk, __global const float *g, int go, __global float *partials) {
    int j = get_global_id(0) * 8, chunk = get_global_id(1);
    int end = min(rows, (chunk + 1) * rows_per_chunk);
    float8 sum = (float8)(0.0f);
    for (int r = chunk * rows_per_chunk; r < end; r++) sum += vload8(0, g + go + r * cols + j);
    vstore8(sum, 0, partials + chunk * cols + j);
}

// out (cols) = the chunks' partial sums of each column, added in chunk order, times scale (1 for a sum, 1 / rows
// for a mean).
__kernel void column_finish(int chunks, int cols, float scale, __global const float *partials, __global float *out, int oo) {
    int j = get_global_id(0);
    float sum = 0.0f;
    for (int chunk = 0; chunk < chunks; chunk++) sum += partials[chunk * cols + j];
    out[oo + j] = sum * scale;
}

// out (groups) = for each group, the sum of in over its members (members[offsets[g] .. offsets[g + 1]),
// ascending), squared when square is set: PReLU alphas shared along irregular axes, constraint norms.
__kernel void group_sums(int square, __global const int *offsets, __global const int *members, __global const float *in, int io,
                         __global float *out, int oo) {
    int g = get_global_id(0);
    float sum = 0.0f;
    for (int m = offsets[g]; m < offsets[g + 1]; m++) {
        float v = in[io + members[m]];
        sum += square ? v * v : v;
    }
    out[oo + g] = sum;
}

// y = act(x) over batch * features elements.
__kernel void activation_forward(int features, int kind, float leaky, int sharing, int channels,
                                 __global const float *x, int xo, __global const float *al, int alo, __global const int *map,
                                 __global float *y, int yo) {
    int i = get_global_id(0);
    float a = kind == PRELU ? alpha_of(sharing, channels, i % features, al + alo, map) : 0.0f;
    y[yo + i] = activate(kind, leaky, x[xo + i], a);
}

// g: dL/dy in, dL/dz out, in place, for every kind but PReLU (whose is prelu_backward, with its alpha gradient).
__kernel void activation_backward(int kind, float leaky, __global const float *z, int zo, __global float *g, int go) {
    int i = get_global_id(0);
    float v = z[zo + i];
    if (kind >= SIGMOID)
        g[go + i] *= pointwise_derivative(kind, leaky, v);
    else if (!(v > 0.0f))
        g[go + i] *= kind == RELU ? 0.0f : leaky; // a NaN z takes the slope, as the reference
}
#endif // !SHAPED_BUILD

#if !defined(S_CONV)
// Max pooling, channels innermost, one work-item per output position. Ties go to the first window
// position, and a NaN wins only as the first (nothing compares greater than it, it compares greater than
// nothing): the reference's rule.
// The window of output (oy, ox) over channels c0 .. c0 + count - 1 of one image: each channel's maximum
// and the offset in the image of the element that holds it.
inline void window_max(int H, int W, int C, int KH, int KW, int SY, int SX, int PT, int PL, __global const float *in,
                       int oy, int ox, int c0, int count, float *best, int *winner) {
    bool first = true;
    for (int py = 0; py < KH; py++) {
        int iy = oy * SY - PT + py;
        if (iy < 0 || iy >= H) continue;
        for (int px = 0; px < KW; px++) {
            int ix = ox * SX - PL + px;
            if (ix < 0 || ix >= W) continue;
            int offset = (iy * W + ix) * C + c0;
            for (int c = 0; c < count; c++) {
                bool better = first || in[offset + c] > best[c];
                best[c] = better ? in[offset + c] : best[c];
                winner[c] = better ? offset + c : winner[c];
            }
            first = false;
        }
    }
}

__kernel void maxpool_forward(int N, int H, int W, int C, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                              __global const float *x, int xo, __global float *y, int yo) {
    POOL_SHAPE()
    int position = get_global_id(0);
    int ox = position % OW, oy = position / OW % OH, n = position / OW / OH;
    for (int c0 = 0; c0 < C; c0 += CB) {
        int count = min(CB, C - c0);
        float best[CB];
        int winner[CB];
        window_max(H, W, C, KH, KW, SY, SX, PT, PL, x + xo + n * H * W * C, oy, ox, c0, count, best, winner);
        for (int c = 0; c < count; c++) y[yo + position * C + c0 + c] = best[c];
    }
}

// Overlapping windows: each input element gathers the gradient of every window it won.
inline int pool_argmax(int H, int W, int C, int KH, int KW, int SY, int SX, int PT, int PL,
                       __global const float *x, int base, int oy, int ox, int c) {
    float best[1];
    int winner[1];
    window_max(H, W, C, KH, KW, SY, SX, PT, PL, x + base, oy, ox, c, 1, best, winner);
    return winner[0];
}

__kernel void maxpool_backward(int N, int H, int W, int C, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                               __global const float *x, int xo, __global const float *dy, int dyo, __global float *dx, int dxo) {
    POOL_SHAPE()
    int i = get_global_id(0);
    int c = i % C, ix = i / C % W, iy = i / C / W % H, n = i / C / W / H;
    int base = xo + n * H * W * C, self = (iy * W + ix) * C + c;
    float sum = 0.0f;
    for (int py = 0; py < KH; py++) {
        int ty = iy + PT - py;
        if (ty < 0 || ty % SY != 0 || ty / SY >= OH) continue;
        for (int px = 0; px < KW; px++) {
            int tx = ix + PL - px;
            if (tx < 0 || tx % SX != 0 || tx / SX >= OW) continue;
            int oy = ty / SY, ox = tx / SX;
            if (pool_argmax(H, W, C, KH, KW, SY, SX, PT, PL, x, base, oy, ox, c) == self)
                sum += dy[dyo + ((n * OH + oy) * OW + ox) * C + c];
        }
    }
    dx[dxo + i] = sum;
}

// Windows that do not overlap (strides at least the pool size): each window hands its gradient to its
// winner, into an input gradient the host has zeroed; no two windows write one element. One work-item
// per output position.
__kernel void maxpool_backward_scatter(int N, int H, int W, int C, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                                       __global const float *x, int xo, __global const float *dy, int dyo, __global float *dx, int dxo) {
    POOL_SHAPE()
    int position = get_global_id(0);
    int ox = position % OW, oy = position / OW % OH, n = position / OW / OH;
    int base = n * H * W * C;
    for (int c0 = 0; c0 < C; c0 += CB) {
        int count = min(CB, C - c0);
        float best[CB];
        int winner[CB];
        window_max(H, W, C, KH, KW, SY, SX, PT, PL, x + xo + base, oy, ox, c0, count, best, winner);
        for (int c = 0; c < count; c++) dx[dxo + base + winner[c]] = dy[dyo + position * C + c0 + c];
    }
}

// Average pooling: each window's mean over its positions inside the input (padding not counted), summed
// in window order. One work-item per output position, all its channels.
__kernel void avgpool_forward(int N, int H, int W, int C, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                              __global const float *x, int xo, __global float *y, int yo) {
    POOL_SHAPE()
    int position = get_global_id(0);
    int ox = position % OW, oy = position / OW % OH, n = position / OW / OH;
    int y0 = max(oy * SY - PT, 0), y1 = min(oy * SY - PT + KH, H), x0 = max(ox * SX - PL, 0), x1 = min(ox * SX - PL + KW, W);
    float count = (float)((y1 - y0) * (x1 - x0));
    __global float *out = y + yo + (long)position * C;
    for (int c = 0; c < C; c++) {
        float sum = 0.0f;
        for (int iy = y0; iy < y1; iy++)
            for (int ix = x0; ix < x1; ix++) sum += x[xo + ((n * H + iy) * W + ix) * C + c];
        out[c] = sum / count;
    }
}

// Each input element gathers the share (gradient / count) of every window that covers it, in output order.
// One work-item per input element.
__kernel void avgpool_backward(int N, int H, int W, int C, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                               __global const float *dy, int dyo, __global float *dx, int dxo) {
    POOL_SHAPE()
    int i = get_global_id(0);
    int c = i % C, ix = i / C % W, iy = i / C / W % H, n = i / C / W / H;
    float sum = 0.0f;
    // Outputs whose window [o * S - P, o * S - P + K) holds this row / column.
    int oy0 = max((iy + PT - KH + SY) / SY, 0), oy1 = min((iy + PT) / SY, OH - 1);
    int ox0 = max((ix + PL - KW + SX) / SX, 0), ox1 = min((ix + PL) / SX, OW - 1);
    for (int oy = oy0; oy <= oy1; oy++) {
        for (int ox = ox0; ox <= ox1; ox++) {
            int y0 = max(oy * SY - PT, 0), y1 = min(oy * SY - PT + KH, H), x0 = max(ox * SX - PL, 0), x1 = min(ox * SX - PL + KW, W);
            if (iy < y0 || iy >= y1 || ix < x0 || ix >= x1) continue;
            sum += dy[dyo + ((n * OH + oy) * OW + ox) * C + c] / (float)((y1 - y0) * (x1 - x0));
        }
    }
    dx[dxo + i] = sum;
}
#endif // !S_CONV: the pooling's shape

#if !defined(SHAPED_BUILD)
// ---- Batch normalisation over the last axis: x as (rows, cols), statistics per column --------------------

// partials (chunks, cols): the sum over a chunk of rows of (x - mean)^2, mean (cols) the columns' means (column_partials
// gives the plain sums).
__kernel void squared_deviation_partials(int rows, int cols, int rows_per_chunk, __global const float *x, int xo,
                                         __global const float *mean, __global float *partials) {
    int j = get_global_id(0), chunk = get_global_id(1);
    int end = min(rows, (chunk + 1) * rows_per_chunk);
    float sum = 0.0f;
    for (int r = chunk * rows_per_chunk; r < end; r++) {
        float d = x[xo + (long)r * cols + j] - mean[j];
        sum += d * d;
    }
    partials[(long)chunk * cols + j] = sum;
}

// partials (chunks, 2 cols): over a chunk of rows, sum dy (columns 0..cols-1) and sum dy xhat (cols..2 cols-1),
// xhat = (x - mean) / sqrt(variance + epsilon); statistics holds mean then variance.
__kernel void batchnorm_grad_partials(int rows, int cols, int rows_per_chunk, float epsilon, __global const float *x, int xo,
                                      __global const float *dy, int dyo, __global const float *statistics, __global float *partials) {
    int j = get_global_id(0), chunk = get_global_id(1);
    int end = min(rows, (chunk + 1) * rows_per_chunk);
    float mean = statistics[j], inverse = 1.0f / sqrt(statistics[cols + j] + epsilon);
    float sum_dy = 0.0f, sum_dy_xhat = 0.0f;
    for (int r = chunk * rows_per_chunk; r < end; r++) {
        long i = (long)r * cols + j;
        float g = dy[dyo + i];
        sum_dy += g;
        sum_dy_xhat += g * ((x[xo + i] - mean) * inverse);
    }
    partials[(long)chunk * 2 * cols + j] = sum_dy;
    partials[(long)chunk * 2 * cols + cols + j] = sum_dy_xhat;
}

// moving = moving * momentum + batch * (1 - momentum), for the mean and the variance; statistics: mean, variance.
__kernel void batchnorm_moving(int cols, float momentum, __global const float *statistics, __global float *mean, int mo,
                               __global float *variance, int vo) {
    int j = get_global_id(0);
    mean[mo + j] = mean[mo + j] * momentum + statistics[j] * (1.0f - momentum);
    variance[vo + j] = variance[vo + j] * momentum + statistics[cols + j] * (1.0f - momentum);
}

// y = (x - mean) gamma / sqrt(variance + epsilon) + beta, element-wise.
__kernel void batchnorm_normalize(int cols, float epsilon, __global const float *x, int xo, __global const float *mean, int mo,
                                  __global const float *variance, int vo, __global const float *gamma, int go, int has_gamma,
                                  __global const float *beta, int bo, int has_beta, __global float *y, int yo) {
    long i = get_global_id(0);
    int j = i % cols;
    float scale = (has_gamma ? gamma[go + j] : 1.0f) / sqrt(variance[vo + j] + epsilon);
    y[yo + i] = (x[xo + i] - mean[mo + j]) * scale + (has_beta ? beta[bo + j] : 0.0f);
}

// dgamma, dbeta (each optional) from the gradient sums (dbeta's then dgamma's).
__kernel void batchnorm_parameter_grads(int cols, __global const float *sums, __global float *dgamma, int dgo, int has_dgamma,
                                        __global float *dbeta, int dbo, int has_dbeta) {
    int j = get_global_id(0);
    if (has_dbeta) dbeta[dbo + j] = sums[j];
    if (has_dgamma) dgamma[dgo + j] = sums[cols + j];
}

// dx = gamma / sqrt(var + eps) (dy - dbeta / rows - xhat dgamma / rows), element-wise.
__kernel void batchnorm_backward_input(int rows, int cols, float epsilon, __global const float *x, int xo, __global const float *dy, int dyo,
                                       __global const float *statistics, __global const float *gamma, int go, int has_gamma,
                                       __global const float *sums, __global float *dx, int dxo) {
    long i = get_global_id(0);
    int j = i % cols;
    float inverse = 1.0f / sqrt(statistics[cols + j] + epsilon);
    float scale = (has_gamma ? gamma[go + j] : 1.0f) * inverse;
    float xhat = (x[xo + i] - statistics[j]) * inverse;
    float m = (float)rows;
    dx[dxo + i] = scale * (dy[dyo + i] - sums[j] / m - xhat * sums[cols + j] / m);
}

// Prelu.Reference.DropoutRandom: murmur3's finaliser over base ^ index * 0x165667B1.
__kernel void dropout_forward(float rate, uint base, float scale, __global const float *x, int xo, __global float *m, int mo,
                              __global float *y, int yo) {
    uint i = get_global_id(0), h;
    DROPOUT_HASH(h, uint, base, i)
    float u = (float)(h >> 8) * (1.0f / 16777216.0f);
    float keep = u >= rate ? scale : 0.0f;
    m[mo + i] = keep;
    y[yo + i] = x[xo + i] * keep;
}

__kernel void multiply(__global const float *a, int ao, __global const float *b, int bo, __global float *out, int oo) {
    int i = get_global_id(0);
    out[oo + i] = a[ao + i] * b[bo + i];
}

// Merge layers as Prelu.Reference.Merge folds them (kind: 0 add, 1 multiply, 2 average, 3 maximum), one launch per
// input, so every element sees the same operations in the same order as on every backend.
__kernel void merge_fold(int kind, __global const float *x, int xo, __global float *y, int yo) {
    int i = get_global_id(0);
    float a = y[yo + i], b = x[xo + i];
    y[yo + i] = kind == 1 ? a * b : kind == 3 ? (b > a ? b : a) : a + b;
}

__kernel void divide(float n, __global float *y, int yo) {
    int i = get_global_id(0);
    y[yo + i] = y[yo + i] / n;
}

// Input i's gradient begins: dy (add, multiply), dy / n (average), x_i == y ? dy : 0 (maximum).
__kernel void merge_gradient_start(int kind, float n, __global const float *xi, int xio, __global const float *y, int yo,
                                   __global const float *dy, int dyo, __global float *dx, int dxo) {
    int i = get_global_id(0);
    float g = dy[dyo + i];
    dx[dxo + i] = kind == 2 ? g / n : kind == 3 ? (xi[xio + i] == y[yo + i] ? g : 0.0f) : g;
}

// Another input j's part of input i's gradient: multiply by x_j; for maximum, zero where an earlier input holds the maximum.
__kernel void merge_gradient_fold(int kind, int earlier, __global const float *xj, int xjo, __global const float *y, int yo,
                                  __global float *dx, int dxo) {
    int i = get_global_id(0);
    if (kind == 1)
        dx[dxo + i] *= xj[xjo + i];
    else if (kind == 3 && earlier && xj[xjo + i] == y[yo + i])
        dx[dxo + i] = 0.0f;
}

// A (rows, width) block between two row-major matrices: columns [sc, sc + width) of src (row stride ss) to columns
// [dc, dc + width) of dst (row stride ds); Concatenate forward and backward.
__kernel void copy_columns(int width, __global const float *src, int so, int ss, int sc, __global float *dst, int dO, int ds, int dc) {
    int i = get_global_id(0);
    int r = i / width, c = i - r * width;
    dst[dO + r * ds + dc + c] = src[so + r * ss + sc + c];
}

__kernel void accumulate(__global const float *g, int go, __global float *total, int to) {
    int i = get_global_id(0);
    total[to + i] += g[go + i];
}

// ---- Losses (Prelu.Reference.Loss): one work-item per sample --------------------------------------------------

inline int arg_max(__global const float *v, int n) {
    int best = 0;
    for (int k = 1; k < n; k++)
        if (v[k] > v[best]) best = k;
    return best;
}

// p = softmax(z) of one row; returns max and sets *sum to sum_k exp(z_k - max).
inline float softmax_row(__global const float *z, __global float *p, int K, float *sum) {
    float max = z[0];
    for (int k = 1; k < K; k++) max = fmax(max, z[k]);
    float s = 0.0f;
    for (int k = 0; k < K; k++) {
        p[k] = exp(z[k] - max);
        s += p[k];
    }
    for (int k = 0; k < K; k++) p[k] /= s;
    *sum = s;
    return max;
}

// The sample's predictions (softmax, sigmoid or z itself; p may be z for the regression losses), its gradient
// (has_dz) and, with targets, its loss, accuracy and mean absolute and squared errors in rows[4 b .. 4 b + 3].
__kernel void loss(int kind, float delta, int B, int K, __global const float *z, int zo, __global const float *targets, int to, int has_targets,
                   __global float *p, int po, __global float *dz, int dzo, int has_dz, __global float *rows) {
    int b = get_global_id(0);
    __global const float *zr = z + zo + b * K;
    __global float *pr = p + po + b * K;
    __global float *g = dz + dzo + b * K;
    float max = 0.0f, sum = 0.0f;
    if (kind == CATEGORICAL_CROSSENTROPY || kind == SPARSE_CATEGORICAL_CROSSENTROPY)
        max = softmax_row(zr, pr, K, &sum);
    else if (kind == BINARY_CROSSENTROPY)
        for (int k = 0; k < K; k++) pr[k] = 1.0f / (1.0f + exp(-zr[k]));
    else if (pr != zr)
        for (int k = 0; k < K; k++) pr[k] = zr[k];
    if (!has_targets) return;
    float count = (float)K, sample = 0.0f, hits = 0.0f, absolute = 0.0f, squared = 0.0f;
    if (kind == SPARSE_CATEGORICAL_CROSSENTROPY) {
        float index = targets[to + b];
        int valid = index >= 0.0f && index < count && index == floor(index);
        int target = valid ? (int)index : -1;
        sample = valid ? max + log(sum) - zr[target] : NAN;
        hits = valid && arg_max(pr, K) == target ? 1.0f : 0.0f;
        for (int k = 0; k < K; k++) {
            float e = pr[k] - (k == target ? 1.0f : 0.0f);
            absolute += fabs(e);
            squared += e * e;
            if (has_dz) g[k] = valid ? e / (float)B : 0.0f;
        }
    } else {
        __global const float *y = targets + to + b * K;
        if (kind == CATEGORICAL_CROSSENTROPY) {
            // -sum_k y_k log softmax(z)_k; its gradient p_k sum(y) - y_k is p - y for a one-hot row
            float log_sum = log(sum), y_sum = 0.0f;
            for (int k = 0; k < K; k++) {
                sample -= y[k] * (zr[k] - max - log_sum);
                y_sum += y[k];
            }
            hits = arg_max(pr, K) == arg_max(y, K) ? 1.0f : 0.0f;
            if (has_dz)
                for (int k = 0; k < K; k++) g[k] = (pr[k] * y_sum - y[k]) / (float)B;
        } else {
            float scale = 1.0f / (float)(B * K);
            for (int k = 0; k < K; k++) {
                float zk = zr[k], e = pr[k] - y[k], a = fabs(e);
                sample += kind == BINARY_CROSSENTROPY ? fmax(zk, 0.0f) - zk * y[k] + log1p(exp(-fabs(zk)))
                        : kind == MEAN_SQUARED_ERROR ? e * e
                        : kind == MEAN_ABSOLUTE_ERROR ? a
                        : a <= delta ? 0.5f * e * e : delta * (a - 0.5f * delta);
                if (kind == BINARY_CROSSENTROPY && (pr[k] > 0.5f ? 1.0f : 0.0f) == y[k]) hits += 1.0f;
                if (has_dz)
                    g[k] = (kind == BINARY_CROSSENTROPY ? e
                            : kind == MEAN_SQUARED_ERROR ? 2.0f * e
                            : kind == MEAN_ABSOLUTE_ERROR ? (e > 0.0f ? 1.0f : e < 0.0f ? -1.0f : 0.0f)
                            : clamp(e, -delta, delta)) * scale;
            }
            sample /= count;
            hits /= count;
        }
        for (int k = 0; k < K; k++) {
            float e = pr[k] - y[k];
            absolute += fabs(e);
            squared += e * e;
        }
    }
    rows[4 * b] = sample;
    rows[4 * b + 1] = hits;
    rows[4 * b + 2] = absolute / count;
    rows[4 * b + 3] = squared / count;
}

// metrics[0 .. 3] += the rows' sums of loss, accuracy, absolute and squared error; one work-item, in row order.
__kernel void add_metrics(int B, __global const float *rows, __global float *m, int mo) {
    float sums[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int b = 0; b < B; b++)
        for (int i = 0; i < 4; i++) sums[i] += rows[4 * b + i];
    for (int i = 0; i < 4; i++) m[mo + i] += sums[i];
}

// The updates and constraints below take a guard (guard[go_] when guarded: the fit's running loss sum, Backend.GuardUpdates):
// while it is not finite they write nothing, so that a step whose loss is NaN or Inf changes no weight without the host
// reading the loss after every step.
#define UPDATE_GUARD __global const float *guard, int guard_offset, int guarded
#define HELD_BACK (guarded && !isfinite(guard[guard_offset]))

__kernel void adam(float alpha_t, float beta1, float beta2, float epsilon, __global float *p, int po, __global const float *g, int go,
                   __global float *m, int mo, __global float *v, int vo, UPDATE_GUARD) {
    int i = get_global_id(0);
    if (HELD_BACK)
        return;
    float gi = g[go + i];
    float mi = m[mo + i] + (gi - m[mo + i]) * (1.0f - beta1);
    float vi = v[vo + i] + (gi * gi - v[vo + i]) * (1.0f - beta2);
    m[mo + i] = mi;
    v[vo + i] = vi;
    p[po + i] -= mi * alpha_t / (sqrt(vi) + epsilon);
}

// ---- Weight penalties and constraints ------------------------------------------------------------------

// grad += l1 sign(w) + 2 l2 w (sign(NaN) = NaN, so a NaN weight reaches the loss check).
__kernel void penalty_gradient(float l1, float l2, __global const float *p, int po, __global float *g, int go) {
    int i = get_global_id(0);
    float w = p[po + i];
    float sign = w > 0.0f ? 1.0f : w < 0.0f ? -1.0f : w == 0.0f ? 0.0f : w;
    g[go + i] += l1 * sign + 2.0f * l2 * w;
}

// partials (chunks, 2): sum |w| and sum w^2 over each chunk of the parameter.
__kernel void penalty_partials(int length, int per_chunk, __global const float *p, int po, __global float *partials) {
    int chunk = get_global_id(0);
    int end = min(length, (chunk + 1) * per_chunk);
    float abs_sum = 0.0f, square_sum = 0.0f;
    for (int i = chunk * per_chunk; i < end; i++) {
        float w = p[po + i];
        abs_sum += fabs(w);
        square_sum += w * w;
    }
    partials[2 * chunk] = abs_sum;
    partials[2 * chunk + 1] = square_sum;
}

// metrics[loss] += weight * (l1 sum|w| + l2 sum w^2), the chunks added in order; one work-item.
__kernel void add_penalty(int chunks, float l1, float l2, float weight, __global const float *partials, __global float *m, int mo) {
    float abs_sum = 0.0f, square_sum = 0.0f;
    for (int chunk = 0; chunk < chunks; chunk++) {
        abs_sum += partials[2 * chunk];
        square_sum += partials[2 * chunk + 1];
    }
    m[mo] += weight * (l1 * abs_sum + l2 * square_sum);
}

__kernel void non_neg(__global float *p, int po, UPDATE_GUARD) {
    int i = get_global_id(0);
    if (HELD_BACK)
        return;
    float w = p[po + i];
    p[po + i] = w >= 0.0f ? w : 0.0f;
}

// Scales every weight by its group's factor from the group's squared norm (Regularization.ApplyConstraint):
// kind 1 MaxNorm clip(n, 0, max), 2 MinMaxNorm rate clip(n, min, max) + (1 - rate) n, 3 UnitNorm 1; over eps + n.
__kernel void scale_to_norm(int kind, float min_value, float max_value, float rate, float epsilon, __global const int *map,
                            __global const float *square_norms, __global float *p, int po, UPDATE_GUARD) {
    int i = get_global_id(0);
    if (HELD_BACK)
        return;
    float norm = sqrt(square_norms[map[i]]);
    float desired = kind == 1 ? clamp(norm, 0.0f, max_value)
                  : kind == 2 ? rate * clamp(norm, min_value, max_value) + (1.0f - rate) * norm
                  : 1.0f;
    p[po + i] *= desired / (epsilon + norm);
}

__kernel void sgd(float lr, float momentum, int nesterov, __global float *p, int po, __global const float *g, int go,
                  __global float *v, int vo, UPDATE_GUARD) {
    int i = get_global_id(0);
    if (HELD_BACK)
        return;
    float gi = g[go + i];
    if (momentum == 0.0f) {
        p[po + i] -= lr * gi;
        return;
    }
    float vi = -gi * lr + v[vo + i] * momentum;
    v[vo + i] = vi;
    p[po + i] += nesterov ? -gi * lr + vi * momentum : vi;
}
#endif // !SHAPED_BUILD

