using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;

namespace SpatialNet.Training.Inference;

/// <summary>An ONNX Runtime session over a graph written by <see cref="OnnxExporter"/>: input <c>image</c>, one output per task.</summary>
internal sealed class OnnxRuntimeSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();

    // Per band (low, (high − low)/255) when the graph takes raw sensor values (metadata input_scale "raw"); null: the 0–255 scale.
    private readonly (float Low, float Step)[]? _raw;

    private OnnxRuntimeSession(InferenceSession session)
    {
        _session = session;
        if (session.ModelMetadata.CustomMetadataMap.TryGetValue("spatialnet.input", out var json)
            && JsonNode.Parse(json) is JsonObject input && (string?)input["input_scale"] == "raw" && input["input_range"] is JsonArray range)
            _raw = range.Select(p => (p![0]!.GetValue<float>(), (p[1]!.GetValue<float>() - p[0]!.GetValue<float>()) / 255f)).ToArray();
    }

    /// <summary>Opens a session on the CPU execution provider.</summary>
    /// <exception cref="InvalidOperationException">The ONNX Runtime native library is missing (reference Microsoft.ML.OnnxRuntime) or the model is invalid.</exception>
    public static OnnxRuntimeSession Create(byte[] model, int? threads)
    {
        try
        {
            using var options = new SessionOptions();
            if (threads is int n)
            {
                options.IntraOpNumThreads = n;
                options.InterOpNumThreads = 1;
            }
            return new OnnxRuntimeSession(new InferenceSession(model, options));
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            throw new InvalidOperationException(
                "The ONNX Runtime native library could not be loaded; the application needs a native ONNX Runtime package (e.g. Microsoft.ML.OnnxRuntime).", e);
        }
    }

    /// <summary>Whether the graph has the output <paramref name="name"/>.</summary>
    public bool HasOutput(string name) => _session.OutputMetadata.ContainsKey(name);

    /// <summary>
    /// Runs <paramref name="count"/> images [count, C, S, S] on the 0–255 scale and returns each named output as a flat array;
    /// a graph that takes raw sensor values gets low + x·(high − low)/255 per band.
    /// </summary>
    public float[][] Run(ReadOnlySpan<float> pixels, int count, int channels, int size, IReadOnlyList<string> outputs)
    {
        // Copied into memory ONNX Runtime allocates: no managed array per batch.
        using var input = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, [count, channels, size, size]);
        var target = input.GetTensorMutableDataAsSpan<float>();
        pixels.CopyTo(target);
        if (_raw is { } raw)
        {
            int plane = size * size;
            for (int i = 0; i < target.Length; i++)
            {
                var (low, step) = raw[raw.Length == 1 ? 0 : i / plane % channels];
                target[i] = low + target[i] * step;
            }
        }
        using var results = _session.Run(_runOptions, ["image"], [input], outputs.ToArray());
        return results.Select(r => r.GetTensorDataAsSpan<float>().ToArray()).ToArray();
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}
