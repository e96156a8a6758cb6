namespace Prelu.Kernels;

/// <summary>
/// A batch normalization run on a convolution's output in the same call (<see cref="Backend.Conv2DBatchNormForward"/>):
/// what <see cref="Backend.BatchNormForward"/> would do with these arguments over the convolution's (N, OH, OW, F) output
/// seen as (N OH OW, F). Its shape is the convolution's; backward reads only <see cref="Epsilon"/> and <see cref="Gamma"/>.
/// </summary>
/// <param name="Momentum">How much of the moving statistics a training step keeps (Keras's momentum, 0.99 by default).</param>
/// <param name="Epsilon">Added to the variance before its square root.</param>
/// <param name="Gamma">The scale per filter; null is 1 (scale=False).</param>
/// <param name="Beta">The shift per filter; null is 0 (center=False).</param>
/// <param name="MovingMean">The moving mean per filter: read in evaluation, moved in training.</param>
/// <param name="MovingVariance">The moving variance per filter: read in evaluation, moved in training.</param>
public readonly record struct BatchNormAfter(float Momentum, float Epsilon, DeviceBuffer? Gamma, DeviceBuffer? Beta, DeviceBuffer MovingMean,
    DeviceBuffer MovingVariance);
