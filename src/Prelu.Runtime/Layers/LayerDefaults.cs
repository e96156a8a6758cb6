namespace Prelu;

/// <summary>
/// Keras's defaults for the layer attributes' arguments, in one place: the attributes start from them, and
/// the source generator (which compiles this very file) assumes them for every argument a declaration leaves out.
/// </summary>
internal static class LayerDefaults
{
    public const string Padding = "valid";
    public const string Activation = "linear";
    public const string KernelInitializer = "glorot_uniform";
    public const string BiasInitializer = "zeros";
    public const int ConvolutionStride = 1;
    public const int PoolSize = 2;
    public const int DepthMultiplier = 1;

    /// <summary>Keras's LeakyReLU layer (negative_slope 0.3).</summary>
    public const double LeakyReLUSlope = 0.3;

    /// <summary>Keras's "leaky_relu" activation function (negative_slope 0.2), a different default from the layer's.</summary>
    public const double LeakyReluActivationSlope = 0.2;

    /// <summary>Keras's ELU layer and "elu" activation (alpha 1.0).</summary>
    public const double EluAlpha = 1.0;

    public const string AlphaInitializer = "zeros";

    /// <summary>Concatenate's axis: the last.</summary>
    public const int ConcatenateAxis = -1;

    /// <summary>The name by which a layer reads the model's input (Keras's Input layer).</summary>
    public const string ModelInput = "input";

    // BatchNormalization
    public const int Axis = -1;
    public const double Momentum = 0.99;
    public const double Epsilon = 0.001;
    public const bool Center = true;
    public const bool Scale = true;
    public const string BetaInitializer = "zeros";
    public const string GammaInitializer = "ones";
    public const string MovingMeanInitializer = "zeros";
    public const string MovingVarianceInitializer = "ones";
}
