// prelu.cl: the kernel contract on OpenCL. One work-item per output element, no atomics: every sum
// (over a window, a batch, a channel) is a loop inside the work-item that owns the result. Buffers are
// (pointer, offset in floats) pairs, so that slices of one arena need no sub-buffers. The same math as
// src/Prelu.Runtime/Reference, which the tests hold this file to.

// Shape-specialised builds: for each layer shape it meets (the generated code's constants), the host
// builds this file again with -D S_CONV / S_POOL / S_DENSE and the sizes, and the kernels below replace
// their size arguments with those constants, so that every loop bound is known to the compiler. Built
// without the defines, the kernels use the arguments as passed (any shape).
#ifdef S_CONV
#define CONV_SHAPE() N = S_N; H = S_H; W = S_W; C = S_C; F = S_F; KH = S_KH; KW = S_KW; SY = S_SY; SX = S_SX; PT = S_PT; PL = S_PL; OH = S_OH; OW = S_OW;
#else
#define CONV_SHAPE()
#endif
#ifdef S_POOL
#define POOL_SHAPE() N = S_N; H = S_H; W = S_W; C = S_C; KH = S_KH; KW = S_KW; SY = S_SY; SX = S_SX; PT = S_PT; PL = S_PL; OH = S_OH; OW = S_OW;
#else
#define POOL_SHAPE()
#endif
#ifdef S_DENSE
#define DENSE_SHAPE() B = S_B; I = S_I; U = S_U;
#else
#define DENSE_SHAPE()
#endif

// Activation kinds and alpha sharing, as prelu.h numbers them.
#define LINEAR 0
#define RELU 1
#define LEAKY 2
#define PRELU 3
#define PER_ELEMENT 0
#define CHANNEL_WISE 1
#define SHARED 2

inline int alpha_index(int sharing, int channels, int feature) {
    return sharing == PER_ELEMENT ? feature : sharing == CHANNEL_WISE ? feature % channels : 0;
}

inline float activate(int kind, float leaky, float z, float alpha) {
    if (kind == LINEAR || z > 0.0f) return z;
    return kind == RELU ? 0.0f : kind == LEAKY ? leaky * z : alpha * z;
}

// z (N, OH, OW, F) from input (N, H, W, C) and kernel (KH, KW, C, F); y = act(z + bias).
__kernel void conv_forward(int N, int H, int W, int C, int F, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                           __global const float *x, int xo, __global const float *k, int ko, __global const float *b, int bo, int has_bias,
                           int kind, float leaky, int sharing, int channels, __global const float *al, int alo,
                           __global float *z, int zo, int has_z, __global float *y, int yo) {
    CONV_SHAPE()
    int i = get_global_id(0);
    int f = i % F, ox = i / F % OW, oy = i / F / OW % OH, n = i / F / OW / OH;
    float sum = has_bias ? b[bo + f] : 0.0f;
    for (int ky = 0; ky < KH; ky++) {
        int iy = oy * SY - PT + ky;
        if (iy < 0 || iy >= H) continue;
        for (int kx = 0; kx < KW; kx++) {
            int ix = ox * SX - PL + kx;
            if (ix < 0 || ix >= W) continue;
            __global const float *in = x + xo + ((n * H + iy) * W + ix) * C;
            __global const float *w = k + ko + (ky * KW + kx) * C * F + f;
            for (int c = 0; c < C; c++) sum += in[c] * w[c * F];
        }
    }
    if (has_z) z[zo + i] = sum;
    int feature = i % (OH * OW * F);
    float a = kind == PRELU ? al[alo + alpha_index(sharing, channels, feature)] : 0.0f;
    y[yo + i] = activate(kind, leaky, sum, a);
}

// dinput (N, H, W, C) = sum over the outputs whose window holds it of dz * kernel.
__kernel void conv_backward_input(int N, int H, int W, int C, int F, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                                  __global const float *k, int ko, __global const float *dz, int dzo, __global float *dx, int dxo) {
    CONV_SHAPE()
    int i = get_global_id(0);
    int c = i % C, ix = i / C % W, iy = i / C / W % H, n = i / C / W / H;
    float sum = 0.0f;
    for (int ky = 0; ky < KH; ky++) {
        int ty = iy + PT - ky;
        if (ty < 0 || ty % SY != 0 || ty / SY >= OH) continue;
        for (int kx = 0; kx < KW; kx++) {
            int tx = ix + PL - kx;
            if (tx < 0 || tx % SX != 0 || tx / SX >= OW) continue;
            __global const float *g = dz + dzo + ((n * OH + ty / SY) * OW + tx / SX) * F;
            __global const float *w = k + ko + ((ky * KW + kx) * C + c) * F;
            for (int f = 0; f < F; f++) sum += g[f] * w[f];
        }
    }
    dx[dxo + i] = sum;
}

// dkernel (KH, KW, C, F) = sum over the batch and the outputs of input * dz.
__kernel void conv_backward_kernel(int N, int H, int W, int C, int F, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                                   __global const float *x, int xo, __global const float *dz, int dzo, __global float *dk, int dko) {
    CONV_SHAPE()
    int i = get_global_id(0);
    int f = i % F, c = i / F % C, kx = i / F / C % KW, ky = i / F / C / KW;
    float sum = 0.0f;
    for (int n = 0; n < N; n++)
        for (int oy = 0; oy < OH; oy++) {
            int iy = oy * SY - PT + ky;
            if (iy < 0 || iy >= H) continue;
            for (int ox = 0; ox < OW; ox++) {
                int ix = ox * SX - PL + kx;
                if (ix < 0 || ix >= W) continue;
                sum += x[xo + ((n * H + iy) * W + ix) * C + c] * dz[dzo + ((n * OH + oy) * OW + ox) * F + f];
            }
        }
    dk[dko + i] = sum;
}

// dbias (F) = the sum of dz (rows, F) over its rows.
__kernel void bias_grad(int rows, int F, __global const float *dz, int dzo, __global float *db, int dbo) {
    int f = get_global_id(0);
    float sum = 0.0f;
    for (int r = 0; r < rows; r++) sum += dz[dzo + r * F + f];
    db[dbo + f] = sum;
}

// y (B, U) = act(x (B, I) * kernel (I, U) + bias); z keeps the pre-activation.
__kernel void dense_forward(int B, int I, int U, __global const float *x, int xo, __global const float *k, int ko,
                            __global const float *b, int bo, int has_bias, int kind, float leaky, int sharing, int channels,
                            __global const float *al, int alo, __global float *z, int zo, int has_z, __global float *y, int yo) {
    DENSE_SHAPE()
    int i = get_global_id(0);
    int u = i % U, row = i / U;
    float sum = has_bias ? b[bo + u] : 0.0f;
    for (int j = 0; j < I; j++) sum += x[xo + row * I + j] * k[ko + j * U + u];
    if (has_z) z[zo + i] = sum;
    float a = kind == PRELU ? al[alo + alpha_index(sharing, channels, u)] : 0.0f;
    y[yo + i] = activate(kind, leaky, sum, a);
}

__kernel void dense_backward_input(int B, int I, int U, __global const float *k, int ko, __global const float *dz, int dzo,
                                   __global float *dx, int dxo) {
    DENSE_SHAPE()
    int i = get_global_id(0);
    int j = i % I, row = i / I;
    float sum = 0.0f;
    for (int u = 0; u < U; u++) sum += dz[dzo + row * U + u] * k[ko + j * U + u];
    dx[dxo + i] = sum;
}

__kernel void dense_backward_kernel(int B, int I, int U, __global const float *x, int xo, __global const float *dz, int dzo,
                                    __global float *dk, int dko) {
    DENSE_SHAPE()
    int i = get_global_id(0);
    int u = i % U, j = i / U;
    float sum = 0.0f;
    for (int row = 0; row < B; row++) sum += x[xo + row * I + j] * dz[dzo + row * U + u];
    dk[dko + i] = sum;
}

// y = act(x) over batch * features elements.
__kernel void activation_forward(int features, int kind, float leaky, int sharing, int channels,
                                 __global const float *x, int xo, __global const float *al, int alo, __global float *y, int yo) {
    int i = get_global_id(0);
    float a = kind == PRELU ? al[alo + alpha_index(sharing, channels, i % features)] : 0.0f;
    y[yo + i] = activate(kind, leaky, x[xo + i], a);
}

// g: dL/dy in, dL/dz out, in place.
__kernel void activation_backward(int features, int kind, float leaky, int sharing, int channels,
                                  __global const float *z, int zo, __global const float *al, int alo, __global float *g, int go) {
    int i = get_global_id(0);
    float zi = z[zo + i];
    if (kind == LINEAR || zi > 0.0f) return;
    float slope = kind == RELU ? 0.0f : kind == LEAKY ? leaky : al[alo + alpha_index(sharing, channels, i % features)];
    g[go + i] *= slope;
}

// dalpha[a] = sum over the batch and the features that share alpha a of (z > 0 ? 0 : z * dy). Run before
// activation_backward turns dy into dz.
__kernel void prelu_alpha_grad(int batch, int features, int sharing, int channels, __global const float *z, int zo,
                               __global const float *g, int go, __global float *da, int dao) {
    int a = get_global_id(0);
    int step = sharing == PER_ELEMENT ? features : sharing == CHANNEL_WISE ? channels : 1;
    float sum = 0.0f;
    for (int n = 0; n < batch; n++)
        for (int f = sharing == SHARED ? 0 : a; f < features; f += step) {
            int i = n * features + f;
            float zi = z[zo + i];
            if (zi <= 0.0f) sum += zi * g[go + i];
        }
    da[dao + a] = sum;
}

// Max pooling, channels innermost; ties go to the first window position.
inline int pool_argmax(int H, int W, int C, int KH, int KW, int SY, int SX, int PT, int PL,
                       __global const float *x, int base, int oy, int ox, int c) {
    int best = -1;
    for (int py = 0; py < KH; py++) {
        int iy = oy * SY - PT + py;
        if (iy < 0 || iy >= H) continue;
        for (int px = 0; px < KW; px++) {
            int ix = ox * SX - PL + px;
            if (ix < 0 || ix >= W) continue;
            int index = (iy * W + ix) * C + c;
            if (best < 0 || x[base + index] > x[base + best]) best = index;
        }
    }
    return best;
}

__kernel void maxpool_forward(int N, int H, int W, int C, int KH, int KW, int SY, int SX, int PT, int PL, int OH, int OW,
                              __global const float *x, int xo, __global float *y, int yo) {
    POOL_SHAPE()
    int i = get_global_id(0);
    int c = i % C, ox = i / C % OW, oy = i / C / OW % OH, n = i / C / OW / OH;
    int base = xo + n * H * W * C;
    y[yo + i] = x[base + pool_argmax(H, W, C, KH, KW, SY, SX, PT, PL, x, base, oy, ox, c)];
}

// Each input element gathers the gradient of every window it won.
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

// Prelu.Reference.DropoutRandom: murmur3's finaliser over base ^ index * 0x165667B1.
__kernel void dropout_forward(float rate, uint base, float scale, __global const float *x, int xo, __global float *m, int mo,
                              __global float *y, int yo) {
    uint i = get_global_id(0);
    uint h = base ^ i * 0x165667B1u;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    float u = (float)(h >> 8) * (1.0f / 16777216.0f);
    float keep = u >= rate ? scale : 0.0f;
    m[mo + i] = keep;
    y[yo + i] = x[xo + i] * keep;
}

__kernel void multiply(__global const float *a, int ao, __global const float *b, int bo, __global float *out, int oo) {
    int i = get_global_id(0);
    out[oo + i] = a[ao + i] * b[bo + i];
}

// One work-item per row: probabilities, the logit gradient (p - y) / B, and the row's loss and hit.
__kernel void softmax_cross_entropy(int B, int K, __global const float *z, int zo, __global const float *labels, int lo, int has_labels,
                                    __global float *p, int po, __global float *dz, int dzo, int has_dz, __global float *rows) {
    int b = get_global_id(0);
    __global const float *zr = z + zo + b * K;
    __global float *pr = p + po + b * K;
    float max = zr[0];
    for (int k = 1; k < K; k++) max = fmax(max, zr[k]);
    float sum = 0.0f;
    for (int k = 0; k < K; k++) {
        pr[k] = exp(zr[k] - max);
        sum += pr[k];
    }
    float log_sum = log(sum);
    for (int k = 0; k < K; k++) pr[k] /= sum;
    if (!has_labels) return;
    __global const float *yr = labels + lo + b * K;
    float loss = 0.0f;
    int predicted = 0, actual = 0;
    for (int k = 0; k < K; k++) {
        loss -= yr[k] * (zr[k] - max - log_sum);
        if (pr[k] > pr[predicted]) predicted = k;
        if (yr[k] > yr[actual]) actual = k;
    }
    rows[2 * b] = loss;
    rows[2 * b + 1] = predicted == actual ? 1.0f : 0.0f;
    if (has_dz)
        for (int k = 0; k < K; k++) dz[dzo + b * K + k] = (pr[k] - yr[k]) / (float)B;
}

// metrics[0] += sum of the rows' losses, metrics[1] += their hits; one work-item, in row order.
__kernel void add_metrics(int B, __global const float *rows, __global float *m, int mo) {
    float loss = 0.0f, correct = 0.0f;
    for (int b = 0; b < B; b++) {
        loss += rows[2 * b];
        correct += rows[2 * b + 1];
    }
    m[mo] += loss;
    m[mo + 1] += correct;
}

__kernel void adam(float alpha_t, float beta1, float beta2, float epsilon, __global float *p, int po, __global const float *g, int go,
                   __global float *m, int mo, __global float *v, int vo) {
    int i = get_global_id(0);
    float gi = g[go + i];
    float mi = m[mo + i] + (gi - m[mo + i]) * (1.0f - beta1);
    float vi = v[vo + i] + (gi * gi - v[vo + i]) * (1.0f - beta2);
    m[mo + i] = mi;
    v[vo + i] = vi;
    p[po + i] -= mi * alpha_t / (sqrt(vi) + epsilon);
}

__kernel void sgd(float lr, float momentum, int nesterov, __global float *p, int po, __global const float *g, int go,
                  __global float *v, int vo) {
    int i = get_global_id(0);
    float gi = g[go + i];
    if (momentum == 0.0f) {
        p[po + i] -= lr * gi;
        return;
    }
    float vi = -gi * lr + v[vo + i] * momentum;
    v[vo + i] = vi;
    p[po + i] += nesterov ? -gi * lr + vi * momentum : vi;
}
