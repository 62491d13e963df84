using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using SpatialNet.Training.Inference;
using TorchSharp;
using static TorchSharp.torch;
using static SpatialNet.Benchmarks.Measurements;

namespace SpatialNet.Benchmarks;

/// <summary>
/// CPU inference throughput of the same model and batch on TorchSharp (the <c>Predictor</c>'s default
/// engine: x/255, encoder, classification head, softmax, no gradients) and on ONNX Runtime (the graph
/// <see cref="OnnxExporter"/> writes), with the threads of <c>--threads</c> for both.
/// </summary>
internal static class InferenceBenchmark
{
    public static bool Run(BenchmarkOptions o, Device device, TextWriter log)
    {
        if (device.type != DeviceType.CPU)
        {
            log.WriteLine("--inference compares CPU engines; run it with --device cpu.");
            return false;
        }
        using var scope = NewDisposeScope();
        using var model = new BenchmarkModel(o, device);
        model.Model.eval();
        int threads = o.Threads > 0 ? o.Threads : torch.get_num_threads();
        var pixels = torch.randint(0, 256, [o.Batch, 3, o.Image, o.Image], dtype: ScalarType.Float32, generator: BenchmarkModel.SeededGenerator(device, 2));
        var input = pixels.contiguous().data<float>().ToArray();

        float[] torchOutput = [];
        double torchSeconds = Time(o, () =>
        {
            using var step = NewDisposeScope();
            using var noGrad = no_grad();
            var raw = model.Model.Forward(pixels.div(255.0f))[BenchmarkModel.TaskName];
            torchOutput = model.Model.Head(BenchmarkModel.TaskName).Predict(raw).data<float>().ToArray();
        });

        var bytes = OnnxExporter.ToBytes(model.Model, new OnnxExportOptions());
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        using var session = new InferenceSession(bytes, options);
        using var runOptions = new RunOptions();
        float[] onnxOutput = [];
        double onnxSeconds = Time(o, () =>
        {
            using var value = OrtValue.CreateTensorValueFromMemory(input, [o.Batch, 3, o.Image, o.Image]);
            using var results = session.Run(runOptions, ["image"], [value], [BenchmarkModel.TaskName]);
            onnxOutput = results[0].GetTensorDataAsSpan<float>().ToArray();
        });

        double maxDiff = torchOutput.Zip(onnxOutput, (a, b) => Math.Abs(a - b)).Max();
        double torchRate = o.Batch * o.Steps / torchSeconds, onnxRate = o.Batch * o.Steps / onnxSeconds;
        log.WriteLine($"Inference, CPU, {threads} thread(s): ViT {o.Image}×{o.Image}, patch {o.Patch}, D {o.Dim}, depth {o.Depth}, heads {o.Heads}, " +
            $"{model.Parameters:N0} parameters; batch {o.Batch}, {o.Steps} timed batches after {o.Warmup} warm-up");
        log.WriteLine("| engine | img/s | ms per batch |");
        log.WriteLine("| --- | --- | --- |");
        log.WriteLine($"| TorchSharp {TorchSharpVersion} | {F(torchRate)} | {F(1000 * torchSeconds / o.Steps, "F1")} |");
        log.WriteLine($"| ONNX Runtime {OrtEnv.Instance().GetVersionString()} | {F(onnxRate)} | {F(1000 * onnxSeconds / o.Steps, "F1")} |");
        log.WriteLine($"largest difference of the class probabilities: {maxDiff:E2}");
        log.WriteLine($"RESULT impl={Implementation}-inference device=cpu threads={threads} batch={o.Batch} img={o.Image} dim={o.Dim} depth={o.Depth} " +
            $"torchsharp_img_s={F(torchRate)} onnxruntime_img_s={F(onnxRate)} max_diff={maxDiff:E2}");
        return maxDiff <= 1e-4;
    }

    private static double Time(BenchmarkOptions o, Action step)
    {
        for (int i = 0; i < o.Warmup; i++)
            step();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < o.Steps; i++)
            step();
        return clock.Elapsed.TotalSeconds;
    }
}
