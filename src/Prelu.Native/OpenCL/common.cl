// common.cl: what every program shares; the host puts it before the file it builds (gemm.cl, prelu.cl).

// Activation kinds (Prelu.Kernels.ActivationKind) and alpha sharing (0-2 as prelu.h numbers them; 3 is
// PReLU over irregular shared axes, through an index table).
#define LINEAR 0
#define RELU 1
#define LEAKY 2
#define PRELU 3
#define PER_ELEMENT 0
#define CHANNEL_WISE 1
#define SHARED 2
#define MAPPED 3
