// common.cl: what every program shares; the host puts it before the file it builds (gemm.cl, prelu.cl).

// Activation kinds (Prelu.Kernels.ActivationKind) and alpha sharing (0-2 as prelu.h numbers them; 3 is
// PReLU over irregular shared axes, through an index table).
#define LINEAR 0
#define RELU 1
#define LEAKY 2
#define PRELU 3
#define SIGMOID 4
#define TANH 5
#define ELU 6
#define SELU 7
#define GELU 8
#define SOFTPLUS 9
#define SWISH 10
#define PER_ELEMENT 0
#define CHANNEL_WISE 1
#define SHARED 2
#define MAPPED 3

// Loss kinds (Prelu.Kernels.LossKind, prelu.h's PRELU_LOSS_*).
#define CATEGORICAL_CROSSENTROPY 0
#define SPARSE_CATEGORICAL_CROSSENTROPY 1
#define BINARY_CROSSENTROPY 2
#define MEAN_SQUARED_ERROR 3
#define MEAN_ABSOLUTE_ERROR 4
#define HUBER 5

// The pointwise activations (kinds SIGMOID and up), as Keras defines them, for a float or a float vector z (a macro:
// the builtins take either; p is ELU's alpha), and their derivatives. Prelu.Reference.PointwiseActivation.
#define SELU_ALPHA 1.6732632423543772848170429916717f
#define SELU_SCALE 1.0507009873554804934193349852946f
#define POINTWISE(kind, p, z) \
    ((kind) == SIGMOID ? 1.0f / (1.0f + exp(-(z))) \
   : (kind) == TANH ? tanh(z) \
   : (kind) == ELU ? ((z) > 0.0f ? (z) : (p) * expm1(z)) \
   : (kind) == SELU ? SELU_SCALE * ((z) > 0.0f ? (z) : SELU_ALPHA * expm1(z)) \
   : (kind) == GELU ? 0.5f * (z) * (1.0f + erf((z) * 0.70710678118654752f)) \
   : (kind) == SOFTPLUS ? fmax((z), 0.0f) + log1p(exp(-fabs(z))) \
   : (z) / (1.0f + exp(-(z))))
// f'(z), for the backward kernels (scalar only; the epilogues need f itself on vectors).
inline float pointwise_derivative(int kind, float p, float z) {
    if (kind == TANH) {
        float t = tanh(z);
        return 1.0f - t * t;
    }
    if (kind == ELU) return z > 0.0f ? 1.0f : p * exp(z);
    if (kind == SELU) return SELU_SCALE * (z > 0.0f ? 1.0f : SELU_ALPHA * exp(z));
    if (kind == GELU) return 0.5f * (1.0f + erf(z * 0.70710678118654752f)) + z * exp(-0.5f * z * z) * 0.39894228040143268f;
    float s = 1.0f / (1.0f + exp(-z)); // sigmoid, softplus and swish all need the sigmoid
    if (kind == SIGMOID) return s * (1.0f - s);
    if (kind == SOFTPLUS) return s;
    return s * (1.0f + z * (1.0f - s)); // SWISH
}

// Prelu.Reference.DropoutRandom: murmur3's finaliser over base ^ index * 0x165667B1, into h, for a uint or a vector of
// them (U its type); the draw in [0, 1) is its top 24 bits, (h >> 8) / 2^24, and the element is kept where the draw is at
// least the rate.
#define DROPOUT_HASH(h, U, base, index)        \
    h = (U)(base) ^ (index) * (U)(0x165667B1u); \
    h ^= h >> 16;                               \
    h *= (U)(0x85EBCA6Bu);                      \
    h ^= h >> 13;                               \
    h *= (U)(0xC2B2AE35u);                      \
    h ^= h >> 16;
