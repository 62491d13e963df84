namespace SpatialNet.Training.Inference;

/// <summary>Which engine runs a <see cref="Predictor"/>'s per-image and per-pixel tasks.</summary>
public enum InferenceBackend
{
    /// <summary>The TorchSharp model (CPU or CUDA); every task kind.</summary>
    TorchSharp,

    /// <summary>
    /// ONNX Runtime on the graph <see cref="OnnxExporter"/> writes (classification, regression,
    /// multi-label, segmentation, pixel regression). The host application references <c>Microsoft.ML.OnnxRuntime</c> (or a GPU
    /// variant) for the native library; VQA and captions still run on TorchSharp.
    /// </summary>
    OnnxRuntime,
}

/// <summary>How a <see cref="Predictor"/> runs.</summary>
public sealed class PredictorOptions
{
    /// <summary><c>cpu</c> (default), <c>cuda</c>, <c>cuda:N</c> or <c>auto</c> (CUDA when available).</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Engine of <see cref="Predictor.Predict(IReadOnlyList{Imaging.RasterImage}, IEnumerable{string}?)"/>; default TorchSharp.</summary>
    public InferenceBackend Backend { get; set; } = InferenceBackend.TorchSharp;

    /// <summary>Most images per forward pass; larger requests are split into batches of this size. Default 32.</summary>
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>
    /// An exported model (<see cref="OnnxExporter"/>) for the ONNX Runtime backend; null exports the
    /// run's weights to memory when the predictor opens.
    /// </summary>
    public string? OnnxModelPath { get; set; }

    /// <summary>Intra-op threads of the ONNX Runtime session; null leaves ONNX Runtime's default.</summary>
    public int? OnnxThreads { get; set; }

    /// <summary>Weights to load instead of the run's <c>model.safetensors</c> (e.g. <c>checkpoints/best.safetensors</c>); null for the run's.</summary>
    public string? WeightsPath { get; set; }

    internal void Validate()
    {
        if (MaxBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "PredictorOptions.MaxBatchSize must be 1 or more.");
        if (OnnxThreads is < 1)
            throw new ArgumentOutOfRangeException(nameof(OnnxThreads), OnnxThreads, "PredictorOptions.OnnxThreads must be 1 or more, or null.");
        if (!Enum.IsDefined(Backend))
            throw new ArgumentOutOfRangeException(nameof(Backend), Backend, "PredictorOptions.Backend: allowed TorchSharp or OnnxRuntime.");
    }
}
