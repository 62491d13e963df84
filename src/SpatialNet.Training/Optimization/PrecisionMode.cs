using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Optimization;

/// <summary>Numeric precision of training.</summary>
public enum PrecisionMode
{
    /// <summary>Model, gradients and optimizer state in the model's own dtype (normally float32).</summary>
    Float32,

    /// <summary>
    /// Mixed precision: the model holds bfloat16 weights and produces bfloat16 gradients, while the
    /// optimizer keeps float32 master weights and float32 moments (Micikevicius et al., 2018, "Mixed
    /// Precision Training"; bfloat16 has float32's exponent range, so no loss scaling is needed).
    /// TorchSharp has no autocast, so every op of the forward pass runs in bfloat16.
    /// </summary>
    BFloat16Mixed,

    /// <summary>
    /// Chosen from the device of the model's parameters when the buffers (or the trainer) are built:
    /// <see cref="BFloat16Mixed"/> on CUDA, <see cref="Float32"/> elsewhere (on a CPU without AMX
    /// bfloat16 is slower than float32). The default of <see cref="Engine.TrainerOptions.Precision"/>.
    /// </summary>
    Auto,
}

/// <summary>Helpers for <see cref="PrecisionMode.BFloat16Mixed"/> training.</summary>
/// <remarks>
/// The weight handling itself (casting the model, float32 master copies, copying gradients to the
/// masters and updated masters back to the model) lives in <see cref="FlatParameterBuffers"/>, so
/// that each of those is one kernel per buffer.
/// </remarks>
internal static class MixedPrecision
{
    /// <summary>
    /// The concrete mode <paramref name="mode"/> stands for on <paramref name="device"/>:
    /// <see cref="PrecisionMode.Auto"/> becomes <see cref="PrecisionMode.BFloat16Mixed"/> on CUDA and
    /// <see cref="PrecisionMode.Float32"/> on every other device; the other modes are returned unchanged.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined mode.</exception>
    public static PrecisionMode Resolve(PrecisionMode mode, Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return mode switch
        {
            PrecisionMode.Float32 or PrecisionMode.BFloat16Mixed => mode,
            PrecisionMode.Auto => device.type == DeviceType.CUDA ? PrecisionMode.BFloat16Mixed : PrecisionMode.Float32,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Allowed: Float32, BFloat16Mixed, Auto."),
        };
    }

    /// <summary>The dtype the model computes in under <paramref name="mode"/>, or <c>null</c> to keep the model's dtype.</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="mode"/> is <see cref="PrecisionMode.Auto"/> (resolve it first with <see cref="Resolve"/>) or undefined.
    /// </exception>
    public static ScalarType? ComputeDType(PrecisionMode mode) => mode switch
    {
        PrecisionMode.Float32 => null,
        PrecisionMode.BFloat16Mixed => ScalarType.BFloat16,
        PrecisionMode.Auto => throw new ArgumentOutOfRangeException(nameof(mode), mode,
            "Auto depends on the device; resolve it first with MixedPrecision.Resolve(mode, device)."),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Allowed: Float32, BFloat16Mixed, Auto."),
    };

    /// <summary>
    /// Returns the batch with every floating-point tensor cast to <paramref name="dtype"/>, except the
    /// entries named in <paramref name="keepAsIs"/> (for example float regression targets that should
    /// stay float32 for the loss). Integer and boolean tensors are never cast. Tensors already in
    /// <paramref name="dtype"/> are passed through; cast tensors are new tensors in the current
    /// dispose scope.
    /// </summary>
    public static IReadOnlyDictionary<string, Tensor> CastInputs(
        IReadOnlyDictionary<string, Tensor> batch, ScalarType dtype, IReadOnlySet<string>? keepAsIs = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var result = new Dictionary<string, Tensor>(batch.Count, StringComparer.Ordinal);
        foreach (var (key, tensor) in batch)
        {
            bool cast = tensor.is_floating_point() && tensor.dtype != dtype && (keepAsIs is null || !keepAsIs.Contains(key));
            result[key] = cast ? tensor.to(dtype) : tensor;
        }
        return result;
    }
}
