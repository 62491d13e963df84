using System.Globalization;
using System.Text.Json.Nodes;
using SpatialNet.Heads;
using SpatialNet.Heads.Dense;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.IO;
using SpatialNet.Training.Inference.Onnx;
using static TorchSharp.torch;
using A = SpatialNet.Training.Inference.Onnx.OnnxGraph.Attribute;

namespace SpatialNet.Training.Inference;

/// <summary>Options of <see cref="OnnxExporter.Export(MultiTaskModel, string, OnnxExportOptions?)"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>Tasks to export; null exports every classification, regression, multi-label, segmentation and pixel-regression head.</summary>
    public IReadOnlyList<string>? Tasks { get; set; }

    /// <summary>Per-band mean of the training normalisation in [0, 1] units, folded into the graph; null: none.</summary>
    public IReadOnlyList<double>? Mean { get; set; }

    /// <summary>Per-band standard deviation of the training normalisation (with <see cref="Mean"/>).</summary>
    public IReadOnlyList<double>? Std { get; set; }

    /// <summary>Names of each task's outputs (class, label or output names) for the metadata; optional.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Labels { get; set; }
}

/// <summary>
/// Writes a model's encoder and its per-image heads (classification, regression, multi-label) and per-pixel
/// heads (segmentation, pixel regression; linear and SETR-MLA decoders) as an ONNX graph (opset 17, IR version 8)
/// that ONNX Runtime and other runtimes serve.
/// </summary>
/// <remarks>
/// <para>
/// Input <c>image</c>: float32 [batch, C, S, S] (dynamic batch, the trained size S) with pixel values on
/// the 8-bit scale 0–255, as the training data; the graph divides by 255 and applies the training
/// normalisation (x − mean)/std. A run with an input range takes raw sensor values instead, which the graph
/// clamps to [low, high] and maps to (v − low)/(high − low) per band before the normalisation. Outputs, one per task, named after it: class probabilities (softmax)
/// [batch, C], label probabilities (sigmoid) [batch, L], or regression values in target units
/// [batch, K]; per-pixel tasks: class probabilities (softmax over axis 1) or values in target units
/// [batch, K, S, S]. The metadata (<c>spatialnet.tasks</c>, <c>spatialnet.input</c>) names the tasks, their
/// kinds and labels and the normalisation.
/// </para>
/// <para>
/// TorchSharp has no ONNX export: the graph is built from the module tree (the encoder's options and
/// the state dict) with operators Conv, Reshape, Transpose, Concat, Expand, Shape, Slice, Gather, Add,
/// Sub, Mul, Div, Min, Max, MatMul, Softmax, Erf, LayerNormalization, ReduceMean, Sigmoid, Relu and Resize, and
/// serialised with a minimal protocol-buffer writer (docs/deployment.md says why).
/// </para>
/// </remarks>
public static class OnnxExporter
{
    /// <summary>Exports the model of a training run folder (its weights, normalisation and class names) to <paramref name="outputPath"/>.</summary>
    /// <param name="runDirectory">The run folder.</param>
    /// <param name="outputPath">The <c>.onnx</c> file to write.</param>
    /// <param name="tasks">Tasks to export; null: every classification, regression, multi-label, segmentation and pixel-regression task.</param>
    /// <exception cref="SpatialNet.DatasetFileNotFoundException">The run folder or one of its files is missing.</exception>
    /// <exception cref="InvalidOperationException">No exportable task.</exception>
    public static void Export(string runDirectory, string outputPath, IReadOnlyList<string>? tasks = null)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        ArgumentNullException.ThrowIfNull(outputPath);
        using var predictor = Predictor.Open(runDirectory);
        var bytes = ToBytes(predictor.Run, predictor.Model, tasks);
        AtomicFile.Write(outputPath, s => s.Write(bytes));
    }

    /// <summary>Exports <paramref name="model"/>'s encoder and its per-image and per-pixel heads to <paramref name="outputPath"/>.</summary>
    /// <exception cref="InvalidOperationException">No exportable task, or an encoder other than <see cref="VisionTransformer"/>.</exception>
    public static void Export(MultiTaskModel model, string outputPath, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(outputPath);
        var bytes = ToBytes(model, options ?? new OnnxExportOptions());
        AtomicFile.Write(outputPath, s => s.Write(bytes));
    }

    /// <summary>The ONNX model of <paramref name="model"/> as bytes.</summary>
    public static byte[] ToBytes(MultiTaskModel model, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if ((options.Mean is null) != (options.Std is null))
            throw new ArgumentException("OnnxExportOptions.Mean and Std must be given together.", nameof(options));
        var names = options.Tasks ?? model.TaskNames.Where(t => IsExportable(model.Head(t))).ToArray();
        var tasks = names.Select(n => new ExportTask(model.Head(n), 0, options.Labels?.GetValueOrDefault(n))).ToList();
        var norms = new List<(IReadOnlyList<double>? Mean, IReadOnlyList<double>? Std)> { (options.Mean, options.Std) };
        return Build(model, tasks, norms);
    }

    // A run's model: each task normalised with its own source's statistics.
    internal static byte[] ToBytes(RunFolder run, MultiTaskModel model, IReadOnlyList<string>? names)
    {
        var selected = names ?? run.Tasks.Where(t => IsExportable(model.Head(t.Name))).Select(t => t.Name).ToArray();
        var tasks = new List<ExportTask>();
        foreach (var name in selected)
        {
            var t = run.Tasks.FirstOrDefault(x => x.Name == name)
                ?? throw new ArgumentException($"The model has no task '{name}'; its tasks: {string.Join(", ", run.Tasks.Select(x => x.Name))}.", nameof(names));
            tasks.Add(new ExportTask(model.Head(name), t.SourceIndex, t.Task.Labels));
        }
        var norms = run.Sources.Select(s => (s.Mean, s.Std)).ToList();
        return Build(model, tasks, norms, run.Sources.Count > 0 ? run.Sources[0].Bands : null, run.ImageOptions.InputRange);
    }

    private static bool IsExportable(TaskHead head) => head is ClassificationHead or RegressionHead or MultiLabelHead or SegmentationHead or PixelRegressionHead;

    private sealed record ExportTask(TaskHead Head, int Normalization, IReadOnlyList<string>? Labels);

    private static byte[] Build(MultiTaskModel model, List<ExportTask> tasks, List<(IReadOnlyList<double>? Mean, IReadOnlyList<double>? Std)> norms,
        IReadOnlyList<int>? bands = null, IReadOnlyList<(double Low, double High)>? inputRange = null)
    {
        if (tasks.Count == 0)
            throw new InvalidOperationException($"No task to export: ONNX export covers classification, regression, multi-label, segmentation and pixel-regression heads; the model's tasks: {string.Join(", ", model.TaskNames)}.");
        foreach (var t in tasks)
        {
            if (!IsExportable(t.Head))
                throw new InvalidOperationException($"Task '{t.Head.TaskName}' ({t.Head.Kind}) cannot be exported: ONNX export covers classification, regression, multi-label, segmentation and pixel-regression heads.");
        }
        if (model.Encoder is not VisionTransformer vit)
            throw new InvalidOperationException($"ONNX export needs a VisionTransformer encoder; the model has {model.Encoder.GetType().Name}.");

        using var scope = NewDisposeScope();
        var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var o = vit.Options;
        var g = new OnnxGraph();
        var w = new Weights(g, state);
        g.Input("image", [null, o.InChannels, o.ImageSize, o.ImageSize], "batch");
        var scaled = ToUnit(g, "image", inputRange, o.InChannels);

        var tokensByNorm = new Dictionary<int, (string Tokens, List<string> Blocks)>();
        foreach (var t in tasks)
        {
            if (!tokensByNorm.TryGetValue(t.Normalization, out var encoded))
            {
                var (mean, std) = norms[t.Normalization];
                var blocks = new List<string>();
                encoded = (Encoder(g, w, o, vit.NumPrefixTokens, Normalize(g, scaled, mean, std, $"norm{t.Normalization}"), blocks), blocks);
                tokensByNorm[t.Normalization] = encoded;
            }
            if (t.Head is DenseHead dense)
            {
                var map = DenseHeadGraph(g, w, o, dense, encoded.Blocks, vit.NumPrefixTokens);
                g.Output(map, [null, dense.modules().OfType<DenseDecoder>().Single().OutChannels, o.ImageSize, o.ImageSize], "batch");
                continue;
            }
            var output = Head(g, w, t.Head, encoded.Tokens, vit.NumPrefixTokens);
            int width = t.Head switch
            {
                ClassificationHead c => c.NumClasses,
                MultiLabelHead m => m.NumLabels,
                RegressionHead r => r.Outputs,
                _ => 0,
            };
            g.Output(output, [null, width], "batch");
        }

        var taskJson = new JsonArray(tasks.Select(t => (JsonNode?)new JsonObject
        {
            ["name"] = t.Head.TaskName,
            ["kind"] = t.Head.Kind.Name,
            ["output"] = t.Head.Kind switch
            {
                var kind_ when kind_ == TaskKind.Classification => "class probabilities (softmax)",
                var kind_ when kind_ == TaskKind.MultiLabel => "label probabilities (sigmoid)",
                var kind_ when kind_ == SegmentationTaskKind.Kind => "class probabilities per pixel (softmax over axis 1)",
                var kind_ when kind_ == PixelRegressionTaskKind.Kind => "values per pixel in target units",
                _ => "values in target units",
            },
            ["labels"] = t.Labels is null ? null : new JsonArray(t.Labels.Select(l => (JsonNode?)l).ToArray()),
            ["normalization"] = Normalization(norms[t.Normalization]),
        }).ToArray());
        var input = new JsonObject
        {
            ["name"] = "image",
            ["shape"] = new JsonArray("batch", o.InChannels, o.ImageSize, o.ImageSize),
            ["dtype"] = "float32",
            ["scale"] = inputRange is null
                ? "pixel values 0-255 (8-bit scale); the graph divides by 255 and applies each task's normalisation"
                : "raw sensor values; the graph maps each band through input_range to [0, 1] (clamped) and applies each task's normalisation",
            ["input_scale"] = inputRange is null ? "0-255" : "raw",
            // How the run read its image files: these bands (1-based; null: all), raw v → clamp((v − low)/(high − low), 0, 1)
            // per band (one pair for all bands or one per band; null: the sample type's range, 0–255 or 0–65535).
            ["bands"] = bands is null ? null : new JsonArray(bands.Select(b => (JsonNode?)b).ToArray()),
            ["input_range"] = inputRange is null ? null : new JsonArray(inputRange.Select(r => (JsonNode?)new JsonArray(r.Low, r.High)).ToArray()),
        };
        var metadata = new List<KeyValuePair<string, string>>
        {
            new("spatialnet.tasks", taskJson.ToJsonString()),
            new("spatialnet.input", input.ToJsonString()),
            new("spatialnet.encoder", string.Create(CultureInfo.InvariantCulture,
                $"ViT {o.ImageSize}x{o.ImageSize}, patch {o.PatchSize}, {o.InChannels} bands, D {o.EmbedDim}, depth {o.Depth}, heads {o.NumHeads}")),
        };
        var version = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0";
        return g.ToModel("spatialnet", version, metadata,
            inputRange is null
                ? "SpatialNet Vision Transformer with task heads. Input 'image' [batch, C, H, W] float32 on the 0-255 scale; one output per task."
                : "SpatialNet Vision Transformer with task heads. Input 'image' [batch, C, H, W] float32 raw sensor values (metadata spatialnet.input input_range); one output per task.");
    }

    private static JsonNode? Normalization((IReadOnlyList<double>? Mean, IReadOnlyList<double>? Std) n) => n.Mean is null ? null : new JsonObject
    {
        ["mean"] = new JsonArray(n.Mean.Select(v => (JsonNode?)v).ToArray()),
        ["std"] = new JsonArray(n.Std!.Select(v => (JsonNode?)v).ToArray()),
    };

    // Unit values as the training cache reads the files: x/255, or with an input range clamp(x, low, high) − low over high − low per band.
    private static string ToUnit(OnnxGraph g, string image, IReadOnlyList<(double Low, double High)>? range, int channels)
    {
        if (range is null)
            return g.Node("Div", [image, g.Initializer("c_255", [255f])]);
        if (range.Count != 1 && range.Count != channels)
            throw new InvalidOperationException($"The run's input_range has {range.Count} [low, high] pairs; the model takes {channels} bands (one pair or one per band).");
        var pairs = Enumerable.Range(0, channels).Select(c => range[range.Count == 1 ? 0 : c]).ToArray();
        var low = g.Initializer("input_low", pairs.Select(p => (float)p.Low).ToArray(), channels, 1, 1);
        var high = g.Initializer("input_high", pairs.Select(p => (float)p.High).ToArray(), channels, 1, 1);
        var x = g.Node("Min", [g.Node("Max", [image, low]), high]);
        return g.Node("Div", [g.Node("Sub", [x, low]), g.Initializer("input_span", pairs.Select(p => (float)(p.High - p.Low)).ToArray(), channels, 1, 1)]);
    }

    // (x − mean)/std on unit values, as the training batch transforms.
    private static string Normalize(OnnxGraph g, string x, IReadOnlyList<double>? mean, IReadOnlyList<double>? std, string hint)
    {
        if (mean is null || std is null)
            return x;
        long c = mean.Count;
        x = g.Node("Sub", [x, g.Initializer(hint + "_mean", mean.Select(v => (float)v).ToArray(), c, 1, 1)]);
        return g.Node("Div", [x, g.Initializer(hint + "_std", std.Select(v => (float)v).ToArray(), c, 1, 1)]);
    }

    // VisionTransformer.ForwardTokens: patch embedding, class token, position embedding, blocks, final norm (or fc_norm);
    // each block's output (before the norm) is added to `blocks`.
    private static string Encoder(OnnxGraph g, Weights w, VisionTransformerOptions o, int prefix, string x, List<string> blocks)
    {
        const string p = "encoder.";
        int d = o.EmbedDim;
        x = g.Node("Conv", [x, w.Raw(p + "patch_embed.proj.weight"), w.Raw(p + "patch_embed.proj.bias")],
            [new A("kernel_shape", Ints: [o.PatchSize, o.PatchSize]), new A("strides", Ints: [o.PatchSize, o.PatchSize])]);
        x = g.Node("Reshape", [x, g.Shape(0, d, -1)]);
        x = g.Node("Transpose", [x], [new A("perm", Ints: [0, 2, 1])]);
        if (prefix > 0)
        {
            // cls_token [1, 1, D] broadcast to [B, 1, D]: Expand to the shape [B, 1, 1].
            var batch = g.Node("Slice", [g.Node("Shape", [x]), g.Shape(0), g.Shape(1)]);
            var shape = g.Node("Concat", [batch, g.Shape(1, 1)], [new A("axis", Int: 0)]);
            var cls = g.Node("Expand", [w.Raw(p + "cls_token"), shape]);
            x = g.Node("Concat", [cls, x], [new A("axis", Int: 1)]);
        }
        x = g.Node("Add", [x, w.Raw(p + "pos_embed")]);
        for (int i = 0; i < o.Depth; i++)
            blocks.Add(x = Block(g, w, o, $"{p}blocks.{i}.", x));
        if (w.Has(p + "norm.weight"))
            x = LayerNorm(g, w, p + "norm", x, o.NormEps);
        // ForwardTokens: fc_norm on every token when the encoder pools with it (its norm is then an identity).
        if (w.Has(p + "fc_norm.weight"))
            x = LayerNorm(g, w, p + "fc_norm", x, o.NormEps);
        return x;
    }

    // EncoderBlock: x + ls1(attn(norm1(x))), then x + ls2(mlp(norm2(x))).
    private static string Block(OnnxGraph g, Weights w, VisionTransformerOptions o, string p, string x)
    {
        var a = Attention(g, w, o, p + "attn.", LayerNorm(g, w, p + "norm1", x, o.NormEps));
        if (w.Has(p + "ls1.gamma"))
            a = g.Node("Mul", [a, w.Raw(p + "ls1.gamma")]);
        x = g.Node("Add", [x, a]);
        var m = Linear(g, w, p + "mlp.fc1", LayerNorm(g, w, p + "norm2", x, o.NormEps));
        m = o.Activation == MlpActivation.Relu ? g.Node("Relu", [m]) : Gelu(g, m);
        m = Linear(g, w, p + "mlp.fc2", m);
        if (w.Has(p + "ls2.gamma"))
            m = g.Node("Mul", [m, w.Raw(p + "ls2.gamma")]);
        return g.Node("Add", [x, m]);
    }

    // Fused qkv → [3, B, H, N, hd]; softmax(q·kᵀ/√hd)·v per head; heads concatenated; proj.
    private static string Attention(OnnxGraph g, Weights w, VisionTransformerOptions o, string p, string x)
    {
        int heads = o.NumHeads, hd = o.EmbedDim / o.NumHeads;
        var qkv = Linear(g, w, p + "qkv", x);
        qkv = g.Node("Reshape", [qkv, g.Shape(0, 0, 3, heads, hd)]);
        qkv = g.Node("Transpose", [qkv], [new A("perm", Ints: [2, 0, 3, 1, 4])]);
        var q = g.Node("Gather", [qkv, g.ScalarIndex(0)], [new A("axis", Int: 0)]);
        var k = g.Node("Gather", [qkv, g.ScalarIndex(1)], [new A("axis", Int: 0)]);
        var v = g.Node("Gather", [qkv, g.ScalarIndex(2)], [new A("axis", Int: 0)]);
        if (w.Has(p + "q_norm.weight"))
        {
            q = LayerNorm(g, w, p + "q_norm", q, o.NormEps);
            k = LayerNorm(g, w, p + "k_norm", k, o.NormEps);
        }
        var attended = Attend(g, q, k, v, hd);
        attended = g.Node("Transpose", [attended], [new A("perm", Ints: [0, 2, 1, 3])]);
        attended = g.Node("Reshape", [attended, g.Shape(0, 0, o.EmbedDim)]);
        return Linear(g, w, p + "proj", attended);
    }

    // softmax(q·kᵀ·scale)·v over the last axis (scaled_dot_product_attention without mask).
    private static string Attend(OnnxGraph g, string q, string k, string v, int headDim)
    {
        var kt = g.Node("Transpose", [k], [new A("perm", Ints: [0, 1, 3, 2])]);
        var scores = g.Node("Mul", [g.Node("MatMul", [q, kt]), g.Scalar((float)(1.0 / Math.Sqrt(headDim)), "attn_scale")]);
        var weights = g.Node("Softmax", [scores], [new A("axis", Int: -1)]);
        return g.Node("MatMul", [weights, v]);
    }

    // GELU (exact): 0.5·x·(1 + erf(x/√2)).
    private static string Gelu(OnnxGraph g, string x)
    {
        var erf = g.Node("Erf", [g.Node("Div", [x, g.Initializer("c_sqrt2", [MathF.Sqrt(2f)])])]);
        var inner = g.Node("Add", [erf, g.Initializer("c_one", [1f])]);
        return g.Node("Mul", [g.Node("Mul", [x, inner]), g.Initializer("c_half", [0.5f])]);
    }

    private static string LayerNorm(OnnxGraph g, Weights w, string p, string x, double eps) =>
        g.Node("LayerNormalization", [x, w.Raw(p + ".weight"), w.Raw(p + ".bias")], [new A("axis", Int: -1), new A("epsilon", Float: (float)eps)]);

    // y = x·Wᵀ + b with Wᵀ stored as an initializer [in, out].
    private static string Linear(OnnxGraph g, Weights w, string p, string x)
    {
        var y = g.Node("MatMul", [x, w.Transposed(p + ".weight")]);
        return w.Has(p + ".bias") ? g.Node("Add", [y, w.Raw(p + ".bias")]) : y;
    }

    // PooledLinearHead: pool, optional LayerNorm, fc; then the head's inference transform.
    private static string Head(OnnxGraph g, Weights w, TaskHead head, string tokens, int prefix)
    {
        var p = $"heads.{head.TaskName}.";
        var pooledHead = (PooledLinearHead)head;
        string pooled;
        switch (pooledHead.Pooling)
        {
            case PoolingKind.ClassToken:
                pooled = g.Node("Gather", [tokens, g.ScalarIndex(0)], [new A("axis", Int: 1)]);
                break;
            case PoolingKind.Mean:
                var patches = g.Node("Slice", [tokens, g.Shape(prefix), g.Shape(long.MaxValue), g.Shape(1)]);
                pooled = g.Node("ReduceMean", [patches], [new A("axes", Ints: [1]), new A("keepdims", Int: 0)]);
                break;
            default:
                var pool = head.modules().OfType<AttentionPooling>().Single();
                pooled = AttentionPool(g, w, p + "pool.", tokens, pool.Layout.EmbedDim, pool.NumHeads);
                break;
        }
        if (w.Has(p + "norm.weight"))
            pooled = LayerNorm(g, w, p + "norm", pooled, 1e-6);
        var logits = Linear(g, w, p + "fc", pooled);
        return head switch
        {
            ClassificationHead => g.Node("Softmax", [logits], [new A("axis", Int: -1)], head.TaskName),
            MultiLabelHead => g.Node("Sigmoid", [logits], null, head.TaskName),
            // σ_k·ŷ'_k + μ_k per output (as RegressionHead.Predict).
            RegressionHead r => g.Node("Add", [
                g.Node("Mul", [logits, g.Initializer(g.Name("target_std"), r.TargetStds.Select(v => (float)v).ToArray(), r.Outputs)]),
                g.Initializer(g.Name("target_mean"), r.TargetMeans.Select(v => (float)v).ToArray(), r.Outputs)], null, head.TaskName),
            _ => throw new InvalidOperationException($"Task '{head.TaskName}' cannot be exported."),
        };
    }

    // DenseHead: the decoder on the normalised patch grids of its blocks, then the head's inference transform → [B, K, S, S].
    private static string DenseHeadGraph(OnnxGraph g, Weights w, VisionTransformerOptions o, DenseHead head, List<string> blocks, int prefix)
    {
        var decoder = head.modules().OfType<DenseDecoder>().Single();
        var p = $"heads.{head.TaskName}.decoder.";
        var (rows, cols) = o.GridSize;
        // ForwardIntermediates(normalize: true): each block's output through fc_norm (or norm), prefix tokens dropped → [B, h·w, D].
        var levels = decoder.Levels.Select(l =>
        {
            var x = blocks[l < 0 ? blocks.Count + l : l];
            if (w.Has("encoder.fc_norm.weight")) x = LayerNorm(g, w, "encoder.fc_norm", x, o.NormEps);
            else if (w.Has("encoder.norm.weight")) x = LayerNorm(g, w, "encoder.norm", x, o.NormEps);
            return g.Node("Slice", [x, g.Shape(prefix), g.Shape(long.MaxValue), g.Shape(1)]);
        }).ToArray();
        // Tokens [B, h·w, C] → grid [B, C, h, w].
        string Grid(string tokens, long channels) =>
            g.Node("Reshape", [g.Node("Transpose", [tokens], [new A("perm", Ints: [0, 2, 1])]), g.Shape(0, channels, rows, cols)]);
        string logits = decoder switch
        {
            // LinearDenseDecoder: per-token Linear, grid, bilinear ×p.
            LinearDenseDecoder => Bilinear(g, Grid(Linear(g, w, p + "head", levels[0]), decoder.OutChannels), decoder.PatchSize),
            MultiLevelDenseDecoder => MultiLevel(g, w, p, levels.Select((t, i) => LayerNorm(g, w, $"{p}norms.{i}", t, 1e-6)).ToArray(), Grid, decoder.PatchSize),
            _ => throw new InvalidOperationException($"Task '{head.TaskName}' ({head.Kind}) cannot be exported: ONNX export covers the linear and mla decoders, not {decoder.GetType().Name}."),
        };
        return head switch
        {
            SegmentationHead => g.Node("Softmax", [logits], [new A("axis", Int: 1)], head.TaskName),
            // σ·ŷ' + μ (as PixelRegressionHead.Predict).
            PixelRegressionHead r => g.Node("Add", [
                g.Node("Mul", [logits, g.Scalar((float)r.Options.TargetStd, "target_std")]),
                g.Scalar((float)r.Options.TargetMean, "target_mean")], null, head.TaskName),
            _ => throw new InvalidOperationException($"Task '{head.TaskName}' ({head.Kind}) cannot be exported."),
        };
    }

    // MultiLevelDenseDecoder (SETR-MLA): 1×1 projections, top-down sums, 3×3 aggregations, two 3×3 convolutions per level,
    // bilinear ×4, concatenation, 1×1 classifier, bilinear ×p/4.
    private static string MultiLevel(OnnxGraph g, Weights w, string p, string[] normed, Func<string, long, string> grid, int patchSize)
    {
        int n = normed.Length;
        long d = w.Shape($"{p}norms.0.weight")[0];
        var projected = normed.Select((t, i) => g.Node("Relu", [Conv(g, w, $"{p}projections.{i}", grid(t, d), 0)])).ToArray();
        var aggregated = new string[n];
        var running = aggregated[n - 1] = projected[n - 1];
        for (int i = n - 2; i >= 0; i--) aggregated[i] = running = g.Node("Add", [projected[i], running]);
        var upsampled = new string[n];
        for (int i = 0; i < n; i++)
        {
            var x = g.Node("Relu", [Conv(g, w, $"{p}aggregations.{i}", aggregated[i], 1)]);
            x = g.Node("Relu", [Conv(g, w, $"{p}heads.{i}.0", x, 1)]);
            x = g.Node("Relu", [Conv(g, w, $"{p}heads.{i}.2", x, 1)]);
            upsampled[i] = Bilinear(g, x, 4);
        }
        var logits = Conv(g, w, p + "classifier", g.Node("Concat", upsampled, [new A("axis", Int: 1)]), 0);
        return Bilinear(g, logits, patchSize / 4.0);
    }

    // Conv2d with a square kernel, stride 1, zero padding `pad` on every side.
    private static string Conv(OnnxGraph g, Weights w, string p, string x, long pad)
    {
        long k = w.Shape(p + ".weight")[^1];
        return g.Node("Conv", [x, w.Raw(p + ".weight"), w.Raw(p + ".bias")],
            [new A("kernel_shape", Ints: [k, k]), new A("pads", Ints: [pad, pad, pad, pad])]);
    }

    // interpolate(mode="bilinear", align_corners=False) by a factor: Resize linear with half-pixel centres (no antialiasing).
    private static string Bilinear(OnnxGraph g, string x, double factor) => factor == 1 ? x : g.Node("Resize",
        [x, "", g.Initializer(g.Name("resize_scales"), [1f, 1f, (float)factor, (float)factor], 4)],
        [new A("mode", Text: "linear"), new A("coordinate_transformation_mode", Text: "half_pixel")]);

    // AttentionPooling: a learned query attends over all tokens; proj of the heads' concatenation → [B, D].
    private static string AttentionPool(OnnxGraph g, Weights w, string p, string tokens, int d, int heads)
    {
        int hd = d / heads;
        var query = Linear(g, w, p + "q", w.Raw(p + "latent"));                           // [1, 1, D]
        query = g.Node("Transpose", [g.Node("Reshape", [query, g.Shape(1, 1, heads, hd)])], [new A("perm", Ints: [0, 2, 1, 3])]); // [1, H, 1, hd]
        var kv = Linear(g, w, p + "kv", tokens);
        kv = g.Node("Transpose", [g.Node("Reshape", [kv, g.Shape(0, 0, 2, heads, hd)])], [new A("perm", Ints: [2, 0, 3, 1, 4])]);
        var k = g.Node("Gather", [kv, g.ScalarIndex(0)], [new A("axis", Int: 0)]);
        var v = g.Node("Gather", [kv, g.ScalarIndex(1)], [new A("axis", Int: 0)]);
        var attended = Attend(g, query, k, v, hd);                                         // [B, H, 1, hd]
        attended = g.Node("Transpose", [attended], [new A("perm", Ints: [0, 2, 1, 3])]);
        attended = g.Node("Reshape", [attended, g.Shape(0, d)]);
        return Linear(g, w, p + "proj", attended);
    }

    /// <summary>The model's float32 weights as graph initializers, each added once under its state-dict name.</summary>
    private sealed class Weights(OnnxGraph graph, Dictionary<string, Tensor> state)
    {
        public bool Has(string name) => state.ContainsKey(name);

        public string Raw(string name)
        {
            var t = Get(name);
            return graph.Initializer(name, Data(t), t.shape);
        }

        public long[] Shape(string name) => Get(name).shape;

        public string Transposed(string name)
        {
            var t = Get(name);
            if (t.dim() != 2)
                throw new InvalidOperationException($"'{name}' is [{string.Join(", ", t.shape)}], not a Linear weight.");
            return graph.Initializer(name + ".T", Data(t.t()), t.shape[1], t.shape[0]);
        }

        private Tensor Get(string name) => state.TryGetValue(name, out var t)
            ? t
            : throw new InvalidOperationException($"ONNX export: the model has no weight '{name}'.");

        private static float[] Data(Tensor t) => t.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
    }
}
