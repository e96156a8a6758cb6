// conv_pool.cl: a convolution and the max pooling after it, by the pooling's winners (Backend.Conv2DPoolForward and
// Conv2DPoolBackward where the pooling's windows do not overlap). The forward computes only the outputs some window
// covers, pools them in registers and keeps, for every pooled element, which of its window's places won (the slot)
// and the winner's pre-activation; the backward takes the pooled gradient to the winners alone (every other output's
// gradient is zero) and from there to the kernel, the bias, the alphas and the input, never forming the convolution's
// full gradient. Built once per pair of shapes and activation, with every size a -D constant (the batch excepted, an
// argument):
//   H W C F KH KW SY SX PT PL OH OW   the convolution (input H x W x C, F filters, KH x KW windows, output OH x OW)
//   PKH PKW PSY PSX PPT PPL PH PW     the pooling (windows, strides, padding, output), PSY >= PKH and PSX >= PKW
//   PADDED   1 when some window of the convolution reaches outside its input
//   VW, NV   the forward's filters per work-item: NV vectors of VW (VW divides F)
//   CW       the kernel gradient's and the input gradient's vector width (it divides C)
//   ROW_VECTORS, ROW_CHUNKS  the kernel gradient's vectors of CW floats per work-item (a run of its KW * C row), and
//            the runs a row takes; KY_ROWS, the kernel rows a work-item takes (KH where a row is a few vectors, else 1)
//   CHANNEL_VECTORS  the input gradient's vectors of CW channels per work-item (it divides C / CW)
//   KIND     the activation (common.cl's kinds): a constant, so that the forward's epilogue, copied for every place of
//            the window and every vector of filters, holds one activation's code and not all eleven (PoCL took 1.6 s to
//            compile the forward with the kind an argument, every transcendental function inlined at each copy; 0.3-0.6 s
//            with it a constant)
// The forward's sums are the product gemm.cl would compute (over k = (ky, kx, c) in order, fma from 0, the bias
// after), so its pooled output has the bits of the two calls; the gradients add the same terms in another order.

#define WIN (PKH * PKW)
#define POOLED_PER_IMAGE (PH * PW * F)

// The convolution's output place of slot s of pooling window (py, px), unclamped (it may fall outside the output, a
// window hanging over a padded edge).
inline int slot_y(int py, int s) { return py * PSY - PPT + s / PKW; }
inline int slot_x(int px, int s) { return px * PSX - PPL + s % PKW; }

#if VW == 1
#define VU uint
#else
#define VU CAT(uint, VW)
__constant int LANE_INDEX[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
#endif

// One work-item: one pooling window of one image (the second index) and NV vectors of VW filters (the first). Its
// window's outputs are MR = WIN rows of a product whose A rows it reads from the input in place (k = (ky, kx, c)).
__kernel void conv_pool_forward(int N, __global const float *x, int xo, __global const float *weights, int wo,
                                __global const float *bias, int biaso, int has_bias, float leaky, int sharing,
                                __global const float *al, int alo, __global const int *map,
                                __global float *pooled, int po, __global float *slots, int so, __global float *zw, int zwo, int has_z,
                                int has_dropout, float rate, uint base, float scale, __global float *mask, int mo,
                                __global float *dropped, int dro) {
    const int v0 = get_global_id(0) * NV, window = get_global_id(1);
    const int px = window % PW, py = window / PW % PH, n = window / (PW * PH);
    __global const float *image = x + xo + n * (H * W * C);
    int oy[WIN], ox[WIN];
    bool inside[WIN];
#pragma unroll
    for (int s = 0; s < WIN; s++) {
        int y = slot_y(py, s), xx = slot_x(px, s);
        inside[s] = y >= 0 && y < OH && xx >= 0 && xx < OW;
        oy[s] = clamp(y, 0, OH - 1); // a place outside is computed at the edge and not pooled
        ox[s] = clamp(xx, 0, OW - 1);
    }
    int column[NV];
#pragma unroll
    for (int v = 0; v < NV; v++) column[v] = min(v0 + v, F / VW - 1) * VW;
    VT acc[WIN][NV];
#pragma unroll
    for (int s = 0; s < WIN; s++)
#pragma unroll
        for (int v = 0; v < NV; v++) acc[s][v] = (VT)(0.0f);

    for (int ky = 0; ky < KH; ky++) {
        for (int kx = 0; kx < KW; kx++) {
            __global const float *from[WIN];
#if PADDED
            bool reads[WIN];
#endif
#pragma unroll
            for (int s = 0; s < WIN; s++) {
                int iy = oy[s] * SY - PT + ky, ix = ox[s] * SX - PL + kx;
#if PADDED
                reads[s] = iy >= 0 && iy < H && ix >= 0 && ix < W;
                iy = clamp(iy, 0, H - 1);
                ix = clamp(ix, 0, W - 1);
#endif
                from[s] = image + (iy * W + ix) * C;
            }
            __global const float *krow = weights + wo + (ky * KW + kx) * C * F;
            for (int c = 0; c < C; c++) {
                VT bv[NV];
#pragma unroll
                for (int v = 0; v < NV; v++) bv[v] = VLOAD(krow + c * F + column[v]);
#pragma unroll
                for (int s = 0; s < WIN; s++) {
#if PADDED
                    VT av = (VT)(reads[s] ? from[s][c] : 0.0f); // im2col's zero
#else
                    VT av = (VT)(from[s][c]);
#endif
#pragma unroll
                    for (int v = 0; v < NV; v++) acc[s][v] = fma(av, bv[v], acc[s][v]);
                }
            }
        }
    }

    // The epilogue (bias, activation), then the window's maximum: ties to the first place, a NaN only as the first (the
    // pooling's rule).
#pragma unroll
    for (int v = 0; v < NV; v++) {
        if (v0 + v >= F / VW) break;
        int j = column[v];
        VT best = (VT)(0.0f), best_z = (VT)(0.0f), b = has_bias ? VLOAD(bias + biaso + j) : (VT)(0.0f);
        VTI slot = (VTI)(0);
        bool first = true;
#pragma unroll
        for (int s = 0; s < WIN; s++) {
            if (!inside[s]) continue;
            VT z = acc[s][v];
            if (has_bias) z += b;
            VT y = activate_vector(z, (oy[s] * OW + ox[s]) * F + j, j, KIND, leaky, sharing, al + alo, map);
            VTI better = first ? (VTI)(-1) : (VTI)(y > best); // a vector compare gives -1 per true lane, a scalar 1: select takes either
            best = select(best, y, better);
            best_z = select(best_z, z, better);
            slot = select(slot, (VTI)(s), better);
            first = false;
        }
        int at = ((n * PH + py) * PW + px) * F + j;
        VSTORE(best, pooled + po + at);
        VSTORE(AS_VT(slot), slots + so + at); // an int in a float's bits
        if (has_z) VSTORE(best_z, zw + zwo + at);
        if (has_dropout) {
            // Prelu.Reference.DropoutRandom over the pooled tensor's flat index, a lane per element.
#if VW == 1
            VU index = (uint)at, h;
#else
            VU index = CAT(convert_uint, VW)(CAT(vload, VW)(0, LANE_INDEX) + (VTI)(at)), h;
#endif
            DROPOUT_HASH(h, VU, base, index)
            VT keep = select((VT)(0.0f), (VT)(scale), CONVERT_VT(h >> 8) * (VT)(1.0f / 16777216.0f) >= (VT)(rate));
            VSTORE(keep, mask + mo + at);
            VSTORE(best * keep, dropped + dro + at);
        }
    }
}

// The gradient at each pooled element's winner: dz = g * f'(z) with g the pooled gradient (through the dropout's mask
// first, when there is one), into d; and for PReLU, z <= 0 ? z * g : 0 (the alpha gradient's term) into terms. One
// work-item: one pooled place (the second index) and VW filters from j (the first).
__kernel void conv_pool_winner_gradients(float leaky, int sharing, __global const float *al, int alo, __global const int *map,
                                         __global const float *g, int go, __global const float *mask, int mo, int has_mask,
                                         __global const float *slots, int so, __global const float *zw, int zwo,
                                         __global float *d, int dof, __global float *terms, int has_terms) {
    const int j = get_global_id(0) * VW, q = get_global_id(1), i = q * F + j;
    VT gi = VLOAD(g + go + i);
    if (has_mask) gi *= VLOAD(mask + mo + i);
    if (KIND == LINEAR) {
        VSTORE(gi, d + dof + i);
        return;
    }
    VT z = VLOAD(zw + zwo + i);
    if (KIND >= SIGMOID) {
        float lanes_g[VW], lanes_z[VW];
        VSTORE(gi, lanes_g);
        VSTORE(z, lanes_z);
        for (int l = 0; l < VW; l++) d[dof + i + l] = lanes_g[l] * pointwise_derivative(KIND, leaky, lanes_z[l]);
        return;
    }
    VTI negative = !(z > (VT)(0.0f)); // a NaN takes the negative side, as the reference
    VT slope = (VT)(0.0f);
    if (KIND == LEAKY) {
        slope = (VT)(leaky);
    } else if (KIND == PRELU) {
        if (sharing == CHANNEL_WISE) {
            slope = VLOAD(al + alo + j);
        } else if (sharing == SHARED) {
            slope = (VT)(al[alo]);
        } else {
            // Each lane's winner may sit at another place of the window: the alphas of every place, each lane taking its own.
            const int p = q % (PH * PW), py = p / PW, px = p % PW;
            VTI slot = AS_VTI(VLOAD(slots + so + i));
#pragma unroll
            for (int s = 0; s < WIN; s++) {
                int feature = (clamp(slot_y(py, s), 0, OH - 1) * OW + clamp(slot_x(px, s), 0, OW - 1)) * F + j;
                VT place;
                if (sharing == PER_ELEMENT) {
                    place = VLOAD(al + alo + feature);
                } else {
                    float lanes[VW];
                    for (int l = 0; l < VW; l++) lanes[l] = al[alo + map[feature + l]];
                    place = VLOAD(lanes);
                }
                slope = select(slope, place, slot == (VTI)(s));
            }
        }
        if (has_terms) VSTORE(select((VT)(0.0f), z * gi, negative), terms + i);
    }
    VSTORE(select(gi, gi * slope, negative), d + dof + i);
}

// The alpha gradient per feature of the convolution's output (oy, ox, f): the terms of the winners at that place, over
// the batch in order. One work-item per pooled place and VW filters, for the WIN places of its window at once, each
// lane's sums as a scalar's (one filter a work-item left PoCL a scalar loop of strided loads: 2.4 ms of the study's
// step against 1.5-1.8 with vectors; two vectors a work-item, a whole cache line, measured no faster). The host zeroes
// out first (the places no window covers keep zero).
__kernel void conv_pool_feature_alpha_sums(int N, __global const float *slots, int so, __global const float *terms,
                                           __global float *out, int oo) {
    const int at = get_global_id(0) * VW;
    const int f = at % F, p = at / F;
    VT sums[WIN];
#pragma unroll
    for (int s = 0; s < WIN; s++) sums[s] = (VT)(0.0f);
    for (int n = 0; n < N; n++) {
        int i = n * POOLED_PER_IMAGE + at;
        VTI slot = AS_VTI(VLOAD(slots + so + i));
        VT term = VLOAD(terms + i);
#pragma unroll
        for (int s = 0; s < WIN; s++) sums[s] += select((VT)(0.0f), term, slot == (VTI)(s));
    }
#pragma unroll
    for (int s = 0; s < WIN; s++) {
        int y = slot_y(p / PW, s), x = slot_x(p % PW, s);
        if (y >= 0 && y < OH && x >= 0 && x < OW) VSTORE(sums[s], out + oo + (y * OW + x) * F + f);
    }
}

// The gradients' vectors of CW channels (vector.cl's VT for VW).
#if CW == 1
#define CVT float
#define CLOAD(p) (*(p))
#define CSTORE(v, p) (*(p) = (v))
#else
#define CVT CAT(float, CW)
#define CLOAD(p) CAT(vload, CW)(0, (p))
#define CSTORE(v, p) CAT(vstore, CW)((v), 0, (p))
#endif
#define ROW (KW * C)

// The kernel gradient, dK(ky, kx, c, f) = the sum over the batch's pooled elements of filter f of d times the input
// under the winner's window. One work-item: filter f (the first index), KY_ROWS kernel rows from ky0 and a run of
// ROW_VECTORS vectors of CW floats of each row's KW * C (the second: ky0 / KY_ROWS * ROW_CHUNKS + run), over the pooled
// elements of one chunk of images in order (the third), into that chunk's partial sums, out + chunk * KH * KW * C * F
// (the host adds the chunks in order). A work-group holds every filter of one run and chunk: its work-items read the
// same image and winners, one after another from the cache, and wait for each other before the next image.
__kernel void conv_pool_kernel_gradient(int N, int images_per_chunk, __global const float *x, int xo, __global const float *slots, int so,
                                        __global const float *d, int dof, __global float *out, int oo) {
    const int f = get_global_id(0), ky0 = get_global_id(1) / ROW_CHUNKS * KY_ROWS, e0 = get_global_id(1) % ROW_CHUNKS * ROW_VECTORS * CW;
    const int chunk = get_global_id(2), n0 = chunk * images_per_chunk, n1 = min(N, n0 + images_per_chunk);
    CVT acc[KY_ROWS][ROW_VECTORS];
#pragma unroll
    for (int r = 0; r < KY_ROWS; r++)
#pragma unroll
        for (int e = 0; e < ROW_VECTORS; e++) acc[r][e] = (CVT)(0.0f);
    for (int n = n0; n < n1; n++) {
        __global const float *image = x + xo + n * (H * W * C);
        for (int p = 0; p < PH * PW; p++) {
            int i = (n * PH * PW + p) * F + f;
            float dz = d[dof + i];
            int s = as_int(slots[so + i]);
            int iy0 = slot_y(p / PW, s) * SY - PT + ky0, ix0 = slot_x(p % PW, s) * SX - PL;
#pragma unroll
            for (int r = 0; r < KY_ROWS; r++) {
#if PADDED
                if (iy0 + r < 0 || iy0 + r >= H) continue;
#endif
                __global const float *row = image + ((iy0 + r) * W + ix0) * C + e0;
#pragma unroll
                for (int e = 0; e < ROW_VECTORS; e++) {
                    if (e0 + (e + 1) * CW > ROW) break;
#if PADDED
                    int ix = ix0 + (e0 + e * CW) / C;
                    if (ix < 0 || ix >= W) continue;
#endif
                    acc[r][e] = fma((CVT)(dz), CLOAD(row + e * CW), acc[r][e]);
                }
            }
        }
        // Every work-item of the group done with this image before any starts the next: PoCL then runs the group's work-items
        // image by image (one image's input, 21.6 KB in the study's second convolution, read by every filter from L1), not
        // each through the whole chunk.
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
    __global float *partial = out + oo + chunk * (KH * ROW * F);
#pragma unroll
    for (int r = 0; r < KY_ROWS; r++) {
        float lanes[ROW_VECTORS * CW];
#pragma unroll
        for (int e = 0; e < ROW_VECTORS; e++) CSTORE(acc[r][e], lanes + e * CW);
        for (int e = 0; e < ROW_VECTORS * CW && e0 + e < ROW; e++) partial[(((ky0 + r) * ROW) + e0 + e) * F + f] = lanes[e];
    }
}

#if CW == 1 && VW > 1
// The kernel gradient where the input has few channels (C odd, CW 1: a first layer over grey or colour images, whose rows
// are a few floats): one work-item takes VW filters, each lane its own winner; for every kernel element the window's
// places' inputs are read and each lane selects its winner's, so that the products run VW filters at a time. The same
// sums in the same order as conv_pool_kernel_gradient's (per filter: the chunk's images and places in order). One
// work-item: VW filters from f0 (the first index) over one chunk of images (the second), into that chunk's partial sums.
__kernel void conv_pool_kernel_gradient_by_filters(int N, int images_per_chunk, __global const float *x, int xo, __global const float *slots,
                                                   int so, __global const float *d, int dof, __global float *out, int oo) {
    const int f0 = get_global_id(0) * VW, chunk = get_global_id(1), n0 = chunk * images_per_chunk, n1 = min(N, n0 + images_per_chunk);
    VT acc[KH * KW * C];
#pragma unroll
    for (int k = 0; k < KH * KW * C; k++) acc[k] = (VT)(0.0f);
    for (int n = n0; n < n1; n++) {
        __global const float *image = x + xo + n * (H * W * C);
        for (int p = 0; p < PH * PW; p++) {
            int i = (n * PH * PW + p) * F + f0;
            VT dz = VLOAD(d + dof + i);
            VTI slot = AS_VTI(VLOAD(slots + so + i));
            VTI won[WIN];
            int y0[WIN], x0[WIN];
#pragma unroll
            for (int s = 0; s < WIN; s++) {
                won[s] = slot == (VTI)(s);
                y0[s] = slot_y(p / PW, s) * SY - PT;
                x0[s] = slot_x(p % PW, s) * SX - PL;
            }
#pragma unroll
            for (int ky = 0; ky < KH; ky++)
#pragma unroll
                for (int kx = 0; kx < KW; kx++)
#pragma unroll
                    for (int c = 0; c < C; c++) {
                        VT value = (VT)(0.0f);
#if PADDED
                        VTI reads = (VTI)(0); // the winner's input inside the image: outside it adds nothing, as im2col's zero is skipped
#endif
#pragma unroll
                        for (int s = 0; s < WIN; s++) {
                            int iy = y0[s] + ky, ix = x0[s] + kx; // a place no window's winner takes may lie outside: read at the edge
                            value = select(value, (VT)(image[(clamp(iy, 0, H - 1) * W + clamp(ix, 0, W - 1)) * C + c]), won[s]);
#if PADDED
                            if (iy >= 0 && iy < H && ix >= 0 && ix < W) reads |= won[s];
#endif
                        }
                        int k = (ky * KW + kx) * C + c;
#if PADDED
                        acc[k] = select(acc[k], fma(dz, value, acc[k]), reads);
#else
                        acc[k] = fma(dz, value, acc[k]);
#endif
                    }
        }
    }
    __global float *partial = out + oo + chunk * (KH * KW * C * F);
#pragma unroll
    for (int k = 0; k < KH * KW * C; k++) VSTORE(acc[k], partial + k * F + f0);
}
#endif

// The input gradient: each winner adds d times its filter's weights over the input its window read, dX(n, iy, ix, c) +=
// d * K(iy - y0, ix - x0, c, f), winners in order (place by place, filter by filter). One work-item: one image (the
// first index) and CHANNEL_VECTORS vectors of CW channels from c0 (the second), which it zeroes first, so that no two
// work-items add into one element; the kernel transposed to (KH, KW, F, C) so that a filter's channels load as vectors.
// aligned: dx + dxo lies on a vector's boundary (the host checks the offset; a buffer's base is aligned further), so that
// the additions store whole vectors: LLVM splits a vstore of unknown alignment in two halves on this target, and the
// stores are what this loop waits on (the study's input gradient 5.6 -> 4.0 ms on PoCL).
__kernel void conv_pool_input_gradient(__global const float *kt, __global const float *slots, int so, __global const float *d, int dof,
                                       __global float *dx, int dxo, int aligned) {
    const int n = get_global_id(0), c0 = get_global_id(1) * CHANNEL_VECTORS * CW;
    __global float *image = dx + dxo + n * (H * W * C) + c0;
    for (int place = 0; place < H * W; place++) {
#pragma unroll
        for (int e = 0; e < CHANNEL_VECTORS; e++) CSTORE((CVT)(0.0f), image + place * C + e * CW);
    }
    for (int p = 0; p < PH * PW; p++) {
        int at = (n * PH * PW + p) * F;
        for (int f = 0; f < F; f++) {
            float dz = d[dof + at + f];
            int s = as_int(slots[so + at + f]);
            int y0 = slot_y(p / PW, s) * SY - PT, x0 = slot_x(p % PW, s) * SX - PL;
            for (int ky = 0; ky < KH; ky++) {
#if PADDED
                if (y0 + ky < 0 || y0 + ky >= H) continue;
#endif
                for (int kx = 0; kx < KW; kx++) {
#if PADDED
                    if (x0 + kx < 0 || x0 + kx >= W) continue;
#endif
                    __global float *to = image + ((y0 + ky) * W + x0 + kx) * C;
                    __global const float *weights = kt + ((ky * KW + kx) * F + f) * C + c0;
                    if (aligned) {
#pragma unroll
                        for (int e = 0; e < CHANNEL_VECTORS; e++) {
                            __global CVT *into = (__global CVT *)(to + e * CW);
                            *into = fma((CVT)(dz), CLOAD(weights + e * CW), *into);
                        }
                    } else {
#pragma unroll
                        for (int e = 0; e < CHANNEL_VECTORS; e++) CSTORE(fma((CVT)(dz), CLOAD(weights + e * CW), CLOAD(to + e * CW)), to + e * CW);
                    }
                }
            }
        }
    }
}
