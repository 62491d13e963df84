using System.CommandLine;
using SpatialNet.Training.Batching;
using SpatialNet.Training.Optimization;
using TorchSharp;

namespace SpatialNet.Benchmarks;

/// <summary>What the benchmark program runs.</summary>
internal enum BenchmarkMode
{
    /// <summary>Training-step throughput of one configuration.</summary>
    Throughput,

    /// <summary>Throughput plus a per-phase timing of the step (each phase synchronised).</summary>
    Breakdown,

    /// <summary>1,000 steps of a small configuration, live tensors and process memory every 100 steps.</summary>
    Soak,

    /// <summary>The input pipeline alone against the model's consumption.</summary>
    Pipeline,

    /// <summary>Caption generation of the real <c>CaptionHead</c>, with and without its key/value cache.</summary>
    Decode,

    /// <summary>CPU inference throughput of one model and batch on TorchSharp and on ONNX Runtime.</summary>
    Inference,

    /// <summary>Whole-scene mapping of a GeoTIFF (SceneMapper): time and peak memory.</summary>
    Scene,

    /// <summary>Training-step time and peak memory of loss composers relative to weighted_sum, one process each.</summary>
    Composers,
}

/// <summary>Numeric precision of the benchmarked step.</summary>
internal enum Precision
{
    /// <summary>Chosen from the device as the trainer's <see cref="PrecisionMode.Auto"/> chooses (bf16 on CUDA, fp32 elsewhere); replaced by <see cref="BenchmarkOptions.ResolveFor"/>.</summary>
    Auto,

    /// <summary>float32 everywhere.</summary>
    Fp32,

    /// <summary>bfloat16 compute. With the flat optimizer: float32 master weights and moments (mixed precision); with TorchSharp's AdamW: bfloat16 weights and state (pure).</summary>
    Bf16,
}

/// <summary>Which optimizer step is measured.</summary>
internal enum OptimizerKind
{
    /// <summary>The SpatialNet trainer's step: <c>FlatAdamW</c> over flat buffers (mixed precision under bf16).</summary>
    Flat,

    /// <summary>A plain loop with TorchSharp's per-parameter <c>torch.optim.AdamW</c> (the baseline the issue measured).</summary>
    Torch,
}

/// <summary>Where batches come from.</summary>
internal enum InputKind
{
    /// <summary>One random batch on the device, reused every step (as the PyTorch reference does).</summary>
    Fixed,

    /// <summary>A <c>DeviceBatchCache</c> of random uint8 images with augmentation, behind a <c>Prefetcher</c>.</summary>
    Pipeline,
}

/// <summary>Command-line settings of the benchmark program, parsed by System.CommandLine as the <c>spatialnet</c> tool parses its own.</summary>
internal sealed class BenchmarkOptions
{
    public BenchmarkMode Mode { get; set; } = BenchmarkMode.Throughput;
    public int Depth { get; set; } = 12;
    public int Dim { get; set; } = 512;
    public int Heads { get; set; } = 8;
    public int Patch { get; set; } = 16;
    public int Image { get; set; } = 256;
    public int Classes { get; set; } = 21;
    public int Batch { get; set; } = 32;
    public int Steps { get; set; } = 20;
    public int Warmup { get; set; } = 3;
    public Precision Precision { get; set; } = Precision.Auto;
    public string Device { get; set; } = "cpu";
    public OptimizerKind Optimizer { get; set; } = OptimizerKind.Flat;
    public InputKind Input { get; set; } = InputKind.Fixed;
    public double? Clip { get; set; }
    public double PeakTflops { get; set; }
    public int Threads { get; set; }
    public int Samples { get; set; }
    public double? ModelImagesPerSecond { get; set; }
    public int SampleEvery { get; set; } = 100;
    public int CaptionDepth { get; set; } = 3;
    public int Beam { get; set; } = 3;
    public int MaxLength { get; set; } = 22;
    public int Vocab { get; set; } = 400;
    public string? ScenePath { get; set; }
    public int Stride { get; set; }
    public IReadOnlyList<string> Composers { get; set; } = [];
    public string? Composer { get; set; }

    public bool IsCuda => Device == "cuda";

    /// <summary>The precision label of RESULT lines (the PyTorch reference's names where they mean the same).</summary>
    public string PrecisionLabel => Precision switch
    {
        Precision.Fp32 => "fp32",
        Precision.Auto => "auto",
        _ => Mode == BenchmarkMode.Decode ? "bf16" : Optimizer == OptimizerKind.Flat ? "bf16-mixed" : "bf16-pure",
    };

    /// <summary>The dtype of the model and its inputs: bfloat16 under bf16, else float32 (after <see cref="ResolveFor"/>).</summary>
    public torch.ScalarType ComputeDType => Precision == Precision.Bf16 ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32;

    private bool _peakTflopsGiven;

    /// <summary>
    /// Settles what depends on the device: <c>--precision auto</c> becomes what
    /// <see cref="MixedPrecision.Resolve"/> makes of <see cref="PrecisionMode.Auto"/> there (bf16 on
    /// CUDA, fp32 elsewhere), and the "% of peak" reference defaults to 790 TFLOP/s for CUDA bf16.
    /// </summary>
    public void ResolveFor(torch.Device device)
    {
        if (Precision == Precision.Auto)
            Precision = MixedPrecision.Resolve(PrecisionMode.Auto, device) == PrecisionMode.BFloat16Mixed ? Precision.Bf16 : Precision.Fp32;
        if (!_peakTflopsGiven)
            PeakTflops = device.type == DeviceType.CUDA && Precision == Precision.Bf16 ? 790 : 0;
    }

    /// <summary>
    /// The program's command line: each option's default depends on the mode (the soak, decode,
    /// inference and scene modes have their own) unless the option is given.
    /// </summary>
    public static RootCommand CreateCommand(Func<BenchmarkOptions, int> run)
    {
        Option<bool> Flag(string name, string description) => new(name) { Description = description };
        Option<int> Int(string name, string description, int min)
        {
            var o = new Option<int>(name) { Description = description, HelpName = "N" };
            o.Validators.Add(r => { if (r.GetValueOrDefault<int>() < min) r.AddError($"{name} {r.GetValueOrDefault<int>()} is below {min}."); });
            return o;
        }
        Option<double> Real(string name, string description, bool positive)
        {
            var o = new Option<double>(name) { Description = description, HelpName = "X" };
            o.Validators.Add(r =>
            {
                double v = r.GetValueOrDefault<double>();
                if (!double.IsFinite(v) || v < 0 || (positive && v == 0)) r.AddError($"{name} {v} is not a finite number {(positive ? "> 0" : ">= 0")}.");
            });
            return o;
        }

        var soak = Flag("--soak", "1,000 steps of a small CPU configuration; live tensors and process memory every --sample-every steps.");
        var pipeline = Flag("--pipeline", "The input pipeline (DeviceBatchCache + Prefetcher) alone against the model's consumption.");
        var breakdown = Flag("--breakdown", "Throughput, then each phase of the step timed with a device sync around it.");
        var decode = Flag("--decode", "Caption generation of the real CaptionHead, key/value cache on and off (defaults --batch 32 --warmup 1 --steps 5); exits 1 when the ids differ in fp32.");
        var inference = Flag("--inference", "CPU inference of one model and batch on TorchSharp and on ONNX Runtime (defaults --batch 8 --warmup 2 --steps 10).");
        var scene = new Option<string>("--scene") { Description = "Map this GeoTIFF (bands 3,2,1) with an untrained model (defaults --img 32 --patch 8 --dim 32 --depth 1 --heads 2 --classes 8 --batch 64).", HelpName = "PATH" };
        var stride = Int("--stride", "--scene: window stride in pixels (default: the window).", 1);
        var depth = Int("--depth", "Encoder layers (default 12).", 1);
        var dim = Int("--dim", "Embedding width (default 512).", 1);
        var heads = Int("--heads", "Attention heads (default 8).", 1);
        var patch = Int("--patch", "Patch size (default 16).", 1);
        var img = Int("--img", "Image size (default 256).", 1);
        var classes = Int("--classes", "Classes (default 21).", 2);
        var captionDepth = Int("--caption-depth", "--decode: decoder layers (default 3).", 1);
        var beam = Int("--beam", "--decode: beam width, 1 = greedy (default 3).", 1);
        var maxLen = Int("--max-len", "--decode: tokens generated per caption (default 22).", 1);
        var vocab = Int("--vocab", "--decode: vocabulary size (default 400).", 4);
        var batch = Int("--batch", "Batch size (default 32).", 1);
        var steps = Int("--steps", "Timed steps (default 20).", 1);
        var warmup = Int("--warmup", "Warm-up steps (default 3).", 0);
        var precision = new Option<string>("--precision") { Description = "auto: bf16 on cuda, fp32 on cpu, as the trainer's PrecisionMode.Auto.", DefaultValueFactory = _ => "auto" }.AcceptOnlyFromAmong("auto", "fp32", "bf16");
        var device = new Option<string>("--device") { Description = "Device.", DefaultValueFactory = _ => "cpu" }.AcceptOnlyFromAmong("cpu", "cuda");
        var optimizer = new Option<string>("--optimizer") { Description = "flat: the trainer's FlatAdamW step; torch: a per-parameter torch.optim.AdamW loop.", DefaultValueFactory = _ => "flat" }.AcceptOnlyFromAmong("flat", "torch");
        var input = new Option<string>("--input") { Description = "fixed: one random batch reused, like the PyTorch reference; pipeline: DeviceBatchCache + Prefetcher.", DefaultValueFactory = _ => "fixed" }.AcceptOnlyFromAmong("fixed", "pipeline");
        var clip = Real("--clip", "Gradient clipping at this global norm (default off).", positive: true);
        var peak = Real("--peak-tflops", "Peak for the \"% of peak\" figure (default 790 for cuda bf16, else not shown).", positive: false);
        var threads = Int("--threads", "torch CPU threads (default: torch's own choice).", 1);
        var samples = Int("--samples", "Images in the pipeline cache (default 8 × batch).", 1);
        var modelImgS = Real("--model-img-s", "--pipeline: the model's img/s measured earlier (default: measure it now).", positive: true);
        var sampleEvery = Int("--sample-every", "--soak: steps between samples (default 100).", 1);
        var composers = new Option<string>("--composers") { Description = "Step time and peak memory of these loss composers (comma-separated registered names) relative to weighted_sum, one process each (defaults --img 32 --patch 8 --dim 64 --depth 2 --heads 4 --batch 8 --steps 10 --warmup 2).", HelpName = "A,B,C" };
        var composer = new Option<string>("--composer") { Description = "--composers: the one composer this process measures (the driver passes it).", HelpName = "NAME" };

        var root = new RootCommand("""
            spatialnet-benchmarks: training-step throughput of the SpatialNet model and trainer (default), the soak, the
            input pipeline, caption decoding, inference and scene mapping. Prints a table and one machine-readable line:
              RESULT impl=spatialnet-<version> device=... precision=fp32|bf16-mixed|bf16-pure optimizer=... batch=... img_s=... step_ms=... tflops=... mem_mib=...
            """)
        {
            soak, pipeline, breakdown, decode, inference, scene, stride, depth, dim, heads, patch, img, classes,
            captionDepth, beam, maxLen, vocab, batch, steps, warmup, precision, device, optimizer, input, clip, peak,
            threads, samples, modelImgS, sampleEvery, composers, composer,
        };
        root.Validators.Add(r =>
        {
            var modes = new Option[] { soak, pipeline, breakdown, decode, inference, scene, composers }.Where(m => r.GetResult(m) is not null).Select(m => m.Name).ToList();
            if (modes.Count > 1) r.AddError($"Choose one mode; given: {string.Join(", ", modes)}.");
        });

        root.SetAction(parse =>
        {
            bool Given(Option option) => parse.GetResult(option) is { Implicit: false };
            int IntOr(Option<int> option, int fallback) => Given(option) ? parse.GetValue(option) : fallback;
            var o = new BenchmarkOptions
            {
                Mode = Given(soak) ? BenchmarkMode.Soak : Given(pipeline) ? BenchmarkMode.Pipeline : Given(breakdown) ? BenchmarkMode.Breakdown
                    : Given(decode) ? BenchmarkMode.Decode : Given(inference) ? BenchmarkMode.Inference : Given(scene) ? BenchmarkMode.Scene
                    : Given(composers) || Given(composer) ? BenchmarkMode.Composers : BenchmarkMode.Throughput,
                Composers = (parse.GetValue(composers) ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Composer = parse.GetValue(composer),
                ScenePath = parse.GetValue(scene),
                Precision = parse.GetValue(precision) switch { "fp32" => Precision.Fp32, "bf16" => Precision.Bf16, _ => Precision.Auto },
                Device = parse.GetValue(device)!,
                Optimizer = parse.GetValue(optimizer) == "torch" ? OptimizerKind.Torch : OptimizerKind.Flat,
                Clip = Given(clip) ? parse.GetValue(clip) : null,
                PeakTflops = parse.GetValue(peak),
                _peakTflopsGiven = Given(peak),
                Threads = parse.GetValue(threads),
                ModelImagesPerSecond = Given(modelImgS) ? parse.GetValue(modelImgS) : null,
                Stride = parse.GetValue(stride),
                CaptionDepth = IntOr(captionDepth, 3),
                Beam = IntOr(beam, 3),
                MaxLength = IntOr(maxLen, 22),
                Vocab = IntOr(vocab, 400),
            };
            // The defaults of each mode: the paper's configuration, a small one for the soak and the scene.
            bool small = o.Mode is BenchmarkMode.Soak or BenchmarkMode.Scene or BenchmarkMode.Composers;
            bool sceneMode = o.Mode == BenchmarkMode.Scene;
            o.Depth = IntOr(depth, small ? (sceneMode ? 1 : 2) : 12);
            o.Dim = IntOr(dim, small ? (sceneMode ? 32 : 64) : 512);
            o.Heads = IntOr(heads, small ? (sceneMode ? 2 : 4) : 8);
            o.Patch = IntOr(patch, small ? 8 : 16);
            o.Image = IntOr(img, small ? 32 : 256);
            o.Classes = IntOr(classes, sceneMode ? 8 : 21);
            o.Batch = IntOr(batch, o.Mode switch { BenchmarkMode.Soak => 8, BenchmarkMode.Inference => 8, BenchmarkMode.Scene => 64, BenchmarkMode.Composers => 8, _ => 32 });
            o.Steps = IntOr(steps, o.Mode switch { BenchmarkMode.Soak => 1000, BenchmarkMode.Decode => 5, BenchmarkMode.Inference => 10, BenchmarkMode.Composers => 10, _ => 20 });
            o.Warmup = IntOr(warmup, o.Mode switch { BenchmarkMode.Decode => 1, BenchmarkMode.Inference => 2, BenchmarkMode.Composers => 2, _ => 3 });
            o.Input = Given(input) ? (parse.GetValue(input) == "pipeline" ? InputKind.Pipeline : InputKind.Fixed)
                : o.Mode == BenchmarkMode.Soak ? InputKind.Pipeline : InputKind.Fixed;
            o.SampleEvery = IntOr(sampleEvery, 100);
            o.Samples = IntOr(samples, 8 * o.Batch);
            if (o.Validate() is { } error)
            {
                parse.InvocationConfiguration.Error.WriteLine($"spatialnet-benchmarks: {error}");
                return 2;
            }
            return run(o);
        });
        return root;
    }

    /// <summary>What the options contradict, or null.</summary>
    private string? Validate()
    {
        if (Dim % Heads != 0)
            return $"--heads {Heads} must divide --dim {Dim}.";
        if (Image % Patch != 0)
            return $"--patch {Patch} must divide --img {Image}.";
        if (Mode == BenchmarkMode.Soak && SampleEvery > Steps)
            return $"--sample-every {SampleEvery} must be <= --steps {Steps}.";
        return null;
    }
}
