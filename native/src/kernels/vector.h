/* vector.h: a vector of floats of the build's width, so that a kernel is written once for the AVX-512 and AVX2 builds
 * (Winograd's transforms, max pooling and the pooled convolution's epilogue, the winners' rows, a first layer's forward):
 * VL lanes, 16 with AVX-512's mask registers, 8 with AVX2's masks in vectors. Each operation is the one instruction
 * either set has for it, so the AVX-512 build compiles to what its own intrinsics gave. A mask says which lanes a load
 * reads (zeros in the others, and no fault there) and a store writes. */

#define VECTOR_OP static inline __attribute__((always_inline))

#if defined(PRELU_AVX512)
#define VL 16
typedef __m512 vfloat;
typedef __mmask16 vmask;

/* The first `lanes` lanes (all from VL on, none below 1). */
VECTOR_OP vmask vmask_lanes(int lanes) { return lanes_mask(lanes); }
/* m where keep is 1, no lane where it is 0. */
VECTOR_OP vmask vmask_if(int keep, vmask m) { return (vmask)(-keep) & m; }
VECTOR_OP int vmask_full(vmask m) { return m == (vmask)0xFFFF; }
VECTOR_OP vmask vmask_and(vmask a, vmask b) { return a & b; }
/* The lanes of m that are not in `out`. */
VECTOR_OP vmask vmask_but(vmask m, vmask out) { return m & (vmask)~out; }
VECTOR_OP vfloat vload(vmask m, const float *p) { return _mm512_maskz_loadu_ps(m, p); }
/* p's lanes in `take`, a's in the others. */
VECTOR_OP vfloat vload_into(vfloat a, vmask take, const float *p) { return _mm512_mask_loadu_ps(a, take, p); }
VECTOR_OP void vstore(float *p, vmask m, vfloat v) { _mm512_mask_storeu_ps(p, m, v); }
/* A whole vector, unmasked. */
VECTOR_OP vfloat vloadu(const float *p) { return _mm512_loadu_ps(p); }
VECTOR_OP void vstoreu(float *p, vfloat v) { _mm512_storeu_ps(p, v); }
VECTOR_OP vfloat vzero(void) { return _mm512_setzero_ps(); }
VECTOR_OP vfloat vset(float x) { return _mm512_set1_ps(x); }
VECTOR_OP vfloat vadd(vfloat a, vfloat b) { return _mm512_add_ps(a, b); }
VECTOR_OP vfloat vsub(vfloat a, vfloat b) { return _mm512_sub_ps(a, b); }
VECTOR_OP vfloat vmul(vfloat a, vfloat b) { return _mm512_mul_ps(a, b); }
/* a b + c and c - a b, each rounded once. */
VECTOR_OP vfloat vfmadd(vfloat a, vfloat b, vfloat c) { return _mm512_fmadd_ps(a, b, c); }
VECTOR_OP vfloat vfnmadd(vfloat a, vfloat b, vfloat c) { return _mm512_fnmadd_ps(a, b, c); }
/* The lanes where a > b, and where a == b (false where either is NaN). */
VECTOR_OP vmask vgreater(vfloat a, vfloat b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
VECTOR_OP vmask vequal(vfloat a, vfloat b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
/* b in the lanes of `take`, a in the others. */
VECTOR_OP vfloat vselect(vmask take, vfloat b, vfloat a) { return _mm512_mask_mov_ps(a, take, b); }

#elif defined(PRELU_AVX2)
#define VL 8
typedef __m256 vfloat;
typedef __m256i vmask; /* all ones in a lane that is in, zeros in one that is not */

VECTOR_OP vmask vmask_lanes(int lanes) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
VECTOR_OP vmask vmask_if(int keep, vmask m) { return _mm256_and_si256(_mm256_set1_epi32(-keep), m); }
VECTOR_OP int vmask_full(vmask m) { return _mm256_testc_si256(m, _mm256_set1_epi32(-1)); }
VECTOR_OP vmask vmask_and(vmask a, vmask b) { return _mm256_and_si256(a, b); }
VECTOR_OP vmask vmask_but(vmask m, vmask out) { return _mm256_andnot_si256(out, m); }
VECTOR_OP vfloat vload(vmask m, const float *p) { return _mm256_maskload_ps(p, m); }
VECTOR_OP vfloat vload_into(vfloat a, vmask take, const float *p) {
    return _mm256_blendv_ps(a, _mm256_maskload_ps(p, take), _mm256_castsi256_ps(take));
}
/* A whole vector takes a plain store: AVX2's masked store costs several times as much on some processors (Zen 2 and 3). */
VECTOR_OP void vstore(float *p, vmask m, vfloat v) {
    if (vmask_full(m))
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, m, v);
}
VECTOR_OP vfloat vloadu(const float *p) { return _mm256_loadu_ps(p); }
VECTOR_OP void vstoreu(float *p, vfloat v) { _mm256_storeu_ps(p, v); }
VECTOR_OP vfloat vzero(void) { return _mm256_setzero_ps(); }
VECTOR_OP vfloat vset(float x) { return _mm256_set1_ps(x); }
VECTOR_OP vfloat vadd(vfloat a, vfloat b) { return _mm256_add_ps(a, b); }
VECTOR_OP vfloat vsub(vfloat a, vfloat b) { return _mm256_sub_ps(a, b); }
VECTOR_OP vfloat vmul(vfloat a, vfloat b) { return _mm256_mul_ps(a, b); }
VECTOR_OP vfloat vfmadd(vfloat a, vfloat b, vfloat c) { return _mm256_fmadd_ps(a, b, c); }
VECTOR_OP vfloat vfnmadd(vfloat a, vfloat b, vfloat c) { return _mm256_fnmadd_ps(a, b, c); }
VECTOR_OP vmask vgreater(vfloat a, vfloat b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_GT_OQ)); }
VECTOR_OP vmask vequal(vfloat a, vfloat b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_EQ_OQ)); }
VECTOR_OP vfloat vselect(vmask take, vfloat b, vfloat a) { return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(take)); }
#endif

#if defined(PRELU_AVX2)
/* row[lane] += v[lane] for the lanes in `adds`, of a vector whose lanes in `valid` lie inside the row. Where all do, the
 * row is loaded and stored whole with +0 in the other lanes (adding +0 changes no sum: the gradients start at +0 and a
 * sum is -0 only when both terms are): Zen 4 runs 512-bit stores in two halves and a masked one costs several times a
 * whole one, and Zen 2 and 3 AVX2's masked stores likewise. */
VECTOR_OP void add_into_row(float *row, vmask valid, vmask adds, vfloat v) {
    if (vmask_full(valid))
        vstoreu(row, vadd(vloadu(row), vselect(adds, v, vzero())));
    else
        vstore(row, adds, vadd(vload(adds, row), v));
}

/* A load and a store that are plain where `whole` (a constant in each expansion: the vector lies wholly inside its row)
 * and take the mask otherwise. Where the caller knows which, this spares AVX2 its masked load (a plain one made max
 * pooling's passes a fifth to a third faster on a Zen 3) without a test of the mask at each load, which slowed Winograd's
 * transforms there. */
VECTOR_OP vfloat vload_whole(const int whole, vmask m, const float *p) { return whole ? vloadu(p) : vload(m, p); }
VECTOR_OP void vstore_whole(const int whole, float *p, vmask m, vfloat v) {
    if (whole)
        vstoreu(p, v);
    else
        vstore(p, m, v);
}
#endif
