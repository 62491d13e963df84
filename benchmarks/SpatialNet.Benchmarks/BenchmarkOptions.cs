using SpatialNet.Training.Batching;
using System.Globalization;
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

/// <summary>A command-line option is unknown, missing its value, or out of range; the message says which and what is allowed.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Command-line settings of the benchmark program.</summary>
internal sealed class BenchmarkOptions
{
    public const string Usage = """
        spatialnet-benchmarks — training-step throughput of the SpatialNet model and trainer, and caption decoding.

        Modes (default: throughput of one configuration):
          --soak                 1,000 steps of a small CPU configuration; live tensors and process memory every 100 steps
          --pipeline             the input pipeline (DeviceBatchCache + Prefetcher) alone vs the model's consumption
          --breakdown            throughput, then each phase of the step timed with a device sync around it
          --decode               caption generation of the real CaptionHead on the encoder's tokens, key/value cache on and off
                                 (defaults --batch 32 --warmup 1 --steps 5: timed generate calls per variant)
          --inference            CPU inference (no gradients) of the same model and batch on TorchSharp and on ONNX Runtime
                                 (the exported graph), side by side (defaults --batch 8 --warmup 2 --steps 10)
          --scene PATH           maps the GeoTIFF PATH (bands 3,2,1) with an untrained model of the given size into
                                 a temporary folder; prints time and peak memory (defaults --img 32 --patch 8 --dim 32
                                 --depth 1 --heads 2 --classes 8 --batch 64; --stride N, default the window)

        Model (defaults: the paper's configuration):
          --depth 12 --dim 512 --heads 8 --patch 16 --img 256 --classes 21
        Caption head (--decode; defaults: the paper's UCM-caption head, configs/paper-ucm-caption.json):
          --caption-depth 3      decoder layers (heads = --heads, width = --dim, position table max(32, L + 1))
          --beam 3               beam width K (1 = greedy)
          --max-len 22           tokens generated per caption, L (the end token is suppressed, so every caption runs all L)
          --vocab 400            vocabulary size V (UCM-caption's training sentences have about 350 distinct words)
        Run:
          --batch 32 --steps 20 --warmup 3
          --precision auto|fp32|bf16 (default auto: bf16 on cuda, fp32 on cpu, as the trainer's PrecisionMode.Auto)
          --device cpu|cuda      (default cpu)
          --optimizer flat|torch (default flat: the trainer's FlatAdamW step; torch: per-parameter torch.optim.AdamW loop)
          --input fixed|pipeline (default fixed: one random batch reused, like the PyTorch reference)
          --clip N               gradient clipping at global norm N (default off, like the reference)
          --peak-tflops X        peak for the "% of peak" figure (default 790 for cuda bf16, else 0 = not shown)
          --threads N            torch CPU threads (default: torch's own choice)
          --samples N            images in the pipeline cache (default 8 × batch)
          --model-img-s X        --pipeline: the model's img/s measured earlier (default: measure it now)
          --sample-every N       --soak: steps between samples (default 100)
        Output: a table and one machine-readable line per run:
          RESULT impl=spatialnet-<version> device=... precision=fp32|bf16-mixed|bf16-pure optimizer=... batch=... img_s=... step_ms=... tflops=... mem_mib=...
          RESULT impl=spatialnet-<version>-decode device=... precision=fp32|bf16 batch=... beam=... cache=on|off img_s=... ms_per_batch=... ms_per_token=...
        --decode exits with code 1 when cached and uncached ids differ in fp32 or live tensors changed.
        """;

    public BenchmarkMode Mode { get; private set; } = BenchmarkMode.Throughput;
    public int Depth { get; private set; } = 12;
    public int Dim { get; private set; } = 512;
    public int Heads { get; private set; } = 8;
    public int Patch { get; private set; } = 16;
    public int Image { get; private set; } = 256;
    public int Classes { get; private set; } = 21;
    public int Batch { get; private set; } = 32;
    public int Steps { get; private set; } = 20;
    public int Warmup { get; private set; } = 3;
    public Precision Precision { get; private set; } = Precision.Auto;
    public string Device { get; private set; } = "cpu";
    public OptimizerKind Optimizer { get; private set; } = OptimizerKind.Flat;
    public InputKind Input { get; private set; } = InputKind.Fixed;
    public double? Clip { get; private set; }
    public double PeakTflops { get; private set; }
    public int Threads { get; private set; }
    public int Samples { get; private set; }
    public double? ModelImagesPerSecond { get; private set; }
    public int SampleEvery { get; private set; } = 100;
    public int CaptionDepth { get; private set; } = 3;
    public int Beam { get; private set; } = 3;
    public int MaxLength { get; private set; } = 22;
    public int Vocab { get; private set; } = 400;
    public bool Help { get; private set; }
    public string? ScenePath { get; private set; }
    public int Stride { get; private set; }

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

    /// <summary>Parses <paramref name="args"/>; throws <see cref="UsageException"/> naming the option and its allowed values.</summary>
    public static BenchmarkOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchmarkOptions();
        var given = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            string Value()
            {
                if (i + 1 >= args.Count)
                    throw new UsageException($"Option {name} needs a value.");
                return args[++i];
            }
            given.Add(name);
            switch (name)
            {
                case "-h" or "--help": o.Help = true; break;
                case "--soak": o.Mode = BenchmarkMode.Soak; break;
                case "--pipeline": o.Mode = BenchmarkMode.Pipeline; break;
                case "--breakdown": o.Mode = BenchmarkMode.Breakdown; break;
                case "--decode": o.Mode = BenchmarkMode.Decode; break;
                case "--inference": o.Mode = BenchmarkMode.Inference; break;
                case "--scene": o.Mode = BenchmarkMode.Scene; o.ScenePath = Value(); break;
                case "--stride": o.Stride = Int(name, Value(), 1); break;
                case "--caption-depth": o.CaptionDepth = Int(name, Value(), 1); break;
                case "--beam": o.Beam = Int(name, Value(), 1); break;
                case "--max-len": o.MaxLength = Int(name, Value(), 1); break;
                case "--vocab": o.Vocab = Int(name, Value(), 4); break;
                case "--depth": o.Depth = Int(name, Value(), 1); break;
                case "--dim": o.Dim = Int(name, Value(), 1); break;
                case "--heads": o.Heads = Int(name, Value(), 1); break;
                case "--patch": o.Patch = Int(name, Value(), 1); break;
                case "--img": o.Image = Int(name, Value(), 1); break;
                case "--classes": o.Classes = Int(name, Value(), 2); break;
                case "--batch": o.Batch = Int(name, Value(), 1); break;
                case "--steps": o.Steps = Int(name, Value(), 1); break;
                case "--warmup": o.Warmup = Int(name, Value(), 0); break;
                case "--precision": o.Precision = Choice(name, Value(), ("auto", Precision.Auto), ("fp32", Precision.Fp32), ("bf16", Precision.Bf16)); break;
                case "--device": o.Device = Choice(name, Value(), ("cpu", "cpu"), ("cuda", "cuda")); break;
                case "--optimizer": o.Optimizer = Choice(name, Value(), ("flat", OptimizerKind.Flat), ("torch", OptimizerKind.Torch)); break;
                case "--input": o.Input = Choice(name, Value(), ("fixed", InputKind.Fixed), ("pipeline", InputKind.Pipeline)); break;
                case "--clip": o.Clip = Real(name, Value(), positive: true); break;
                case "--peak-tflops": o.PeakTflops = Real(name, Value(), positive: false); break;
                case "--threads": o.Threads = Int(name, Value(), 1); break;
                case "--samples": o.Samples = Int(name, Value(), 1); break;
                case "--model-img-s": o.ModelImagesPerSecond = Real(name, Value(), positive: true); break;
                case "--sample-every": o.SampleEvery = Int(name, Value(), 1); break;
                default: throw new UsageException($"Unknown option '{name}'. Run with --help for the list.");
            }
        }
        if (o.Mode == BenchmarkMode.Soak)
            o.ApplySoakDefaults(given);
        if (o.Mode == BenchmarkMode.Decode)
            o.ApplyDecodeDefaults(given);
        if (o.Mode == BenchmarkMode.Inference)
        {
            SetUnlessGiven(given, "--batch", () => o.Batch = 8);
            SetUnlessGiven(given, "--warmup", () => o.Warmup = 2);
            SetUnlessGiven(given, "--steps", () => o.Steps = 10);
        }
        if (o.Mode == BenchmarkMode.Scene)
        {
            foreach (var (option, apply) in new (string, Action)[]
            {
                ("--img", () => o.Image = 32), ("--patch", () => o.Patch = 8), ("--dim", () => o.Dim = 32),
                ("--depth", () => o.Depth = 1), ("--heads", () => o.Heads = 2), ("--classes", () => o.Classes = 8), ("--batch", () => o.Batch = 64),
            })
                SetUnlessGiven(given, option, apply);
        }
        o._peakTflopsGiven = given.Contains("--peak-tflops");
        if (o.Samples == 0)
            o.Samples = 8 * o.Batch;
        o.Validate();
        return o;
    }

    /// <summary>The soak's small configuration and 1,000 steps, unless given explicitly.</summary>
    private void ApplySoakDefaults(HashSet<string> given)
    {
        void Set(string option, Action apply) => SetUnlessGiven(given, option, apply);
        Set("--depth", () => Depth = 2);
        Set("--dim", () => Dim = 64);
        Set("--heads", () => Heads = 4);
        Set("--patch", () => Patch = 8);
        Set("--img", () => Image = 32);
        Set("--batch", () => Batch = 8);
        Set("--steps", () => Steps = 1000);
        Set("--input", () => Input = InputKind.Pipeline);
    }

    /// <summary>Fewer timed runs for --decode (each is a whole batch of captions), unless given explicitly.</summary>
    private void ApplyDecodeDefaults(HashSet<string> given)
    {
        SetUnlessGiven(given, "--warmup", () => Warmup = 1);
        SetUnlessGiven(given, "--steps", () => Steps = 5);
    }

    private static void SetUnlessGiven(HashSet<string> given, string option, Action apply)
    {
        if (!given.Contains(option))
            apply();
    }

    private void Validate()
    {
        if (Dim % Heads != 0)
            throw new UsageException($"--heads {Heads} must divide --dim {Dim}.");
        if (Image % Patch != 0)
            throw new UsageException($"--patch {Patch} must divide --img {Image}.");
        if (Mode == BenchmarkMode.Soak && SampleEvery > Steps)
            throw new UsageException($"--sample-every {SampleEvery} must be <= --steps {Steps}.");
    }

    private static int Int(string name, string text, int min)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
            throw new UsageException($"Option {name}: '{text}' is not an integer >= {min}.");
        return v;
    }

    private static double Real(string name, string text, bool positive)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v < 0 || (positive && v == 0))
            throw new UsageException($"Option {name}: '{text}' is not a finite number {(positive ? "> 0" : ">= 0")}.");
        return v;
    }

    private static T Choice<T>(string name, string text, params (string Name, T Value)[] choices)
    {
        foreach (var (n, v) in choices)
        {
            if (string.Equals(n, text, StringComparison.OrdinalIgnoreCase))
                return v;
        }
        throw new UsageException($"Option {name}: '{text}' is not one of: {string.Join(", ", choices.Select(c => c.Name))}.");
    }
}
