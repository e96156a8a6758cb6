// vector.cl: the float vector of VW lanes (a -D of the program) and the activation of one, for the programs whose
// kernels hold several outputs per work-item in vectors (gemm.cl, conv_pool.cl). The host puts it after common.cl.

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if VW == 1
#define VT float
#define VTI int
#define VLOAD(p) (*(p))
#define VSTORE(v, p) (*(p) = (v))
#define AS_VT as_float
#define AS_VTI as_int
#define CONVERT_VT convert_float
#else
#define VT CAT(float, VW)
#define VTI CAT(int, VW)
#define VLOAD(p) CAT(vload, VW)(0, (p))
#define VSTORE(v, p) CAT(vstore, VW)((v), 0, (p))
#define AS_VT CAT(as_float, VW)
#define AS_VTI CAT(as_int, VW)
#define CONVERT_VT CAT(convert_float, VW)
#endif

// The activation of VW consecutive features given their pre-activation z: feature is the first one's flat index
// within a sample (a per-element alpha's index), channel its channel (a channel-wise alpha's). Always inlined: LLVM had
// left it a call (every sharing's branch makes it long), the vectors passed through the stack, 8 calls a work-item of
// conv_pool_forward, each realigning the stack (the study's two pooled forwards together 12.1-14.8 -> 9.0-13.8 ms a step
// on PoCL, three alternated runs).
__attribute__((always_inline)) inline VT activate_vector(VT z, int feature, int channel, int kind, float leaky, int sharing,
                          __global const float *al, __global const int *map) {
    if (kind == LINEAR)
        return z;
    if (kind == RELU)
        return z > (VT)(0.0f) ? z : (VT)(0.0f);
    if (kind >= SIGMOID)
        return POINTWISE(kind, leaky, z);
    VT slope;
    if (kind == LEAKY) {
        slope = (VT)(leaky);
    } else if (sharing == PER_ELEMENT) {
        slope = VLOAD(al + feature);
    } else if (sharing == CHANNEL_WISE) {
        slope = VLOAD(al + channel);
    } else if (sharing == SHARED) {
        slope = (VT)(al[0]);
    } else {
        float lanes[VW];
        for (int l = 0; l < VW; l++) lanes[l] = al[map[feature + l]];
        slope = VLOAD(lanes);
    }
    return z > (VT)(0.0f) ? z : z * slope;
}
