using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;

namespace SpatialNet.Samples.RsvqaLr;

/// <summary>Command-line settings of the RSVQA-LR experiment; the defaults are the configuration documented in docs/rsvqa.md.</summary>
internal sealed class ExperimentOptions
{
    [Option("data", "RSVQA-LR folder (LR_split_*.json + Images_LR/), e.g. ../shared/data/rsvqa-lr-sample")]
    public string Data { get; set; } = "";

    [Option("out", "output folder (report, history, checkpoints)")]
    public string Out { get; set; } = "";

    [Option("seed", "seed of initialisation, shuffling, augmentation and dropout")]
    public int Seed { get; set; } = 1;

    [Option("threads", "torch CPU threads")]
    public int Threads { get; set; } = 1;

    [Option("epochs", "training epochs (the best epoch on val is kept)")]
    public int Epochs { get; set; } = 40;

    [Option("image-size", "images are decoded once and resized to this square size")]
    public int ImageSize { get; set; } = 64;

    [Option("patch", "ViT patch size")]
    public int Patch { get; set; } = 16;

    [Option("dim", "ViT width D (also the question encoder's width)")]
    public int Dim { get; set; } = 64;

    [Option("depth", "ViT layers")]
    public int Depth { get; set; } = 2;

    [Option("heads", "attention heads (image, question and fusion layers)")]
    public int Heads { get; set; } = 4;

    [Option("text-depth", "question encoder layers")]
    public int TextDepth { get; set; } = 1;

    [Option("fusion-depth", "question-to-image cross-attention layers")]
    public int FusionDepth { get; set; } = 1;

    [Option("hidden", "answer classifier hidden width (0: one linear layer)")]
    public int Hidden { get; set; } = 256;

    [Option("lr", "AdamW learning rate")]
    public double LearningRate { get; set; } = 2e-3;

    [Option("weight-decay", "AdamW weight decay")]
    public double WeightDecay { get; set; } = 0.05;

    [Option("dropout", "dropout in the answer classifier")]
    public double Dropout { get; set; } = 0.1;

    [Option("image-dropout", "dropout inside the ViT")]
    public double ImageDropout { get; set; }

    [Option("drop-path", "stochastic depth of the ViT")]
    public double DropPath { get; set; }

    [Option("text-dropout", "dropout inside the question encoder and fusion layers")]
    public double TextDropout { get; set; } = 0.1;

    [Option("label-smoothing", "label smoothing of the answer cross-entropy")]
    public double LabelSmoothing { get; set; }

    [Option("count-loss", "weight of the count-regression branch (log(1 + count) MSE on count questions; 0: no branch)")]
    public double CountLoss { get; set; } = 0.1;

    [Option("batch", "questions per batch")]
    public int Batch { get; set; } = 256;

    [Option("length-buckets", "sort each run of this many batches by question length (0: off)")]
    public int LengthBuckets { get; set; } = 8;

    [Option("image-drop", "probability that a training image is replaced by the training mean colour (modality dropout)")]
    public double ImageDrop { get; set; } = 0.25;

    [Option("warmup-epochs", "linear warm-up, in epochs")]
    public double WarmupEpochs { get; set; } = 1;

    [Option("rural-urban-repeat", "how often each rural/urban question enters an epoch (it is 1% of the questions)")]
    public int RuralUrbanRepeat { get; set; } = 10;

    [Option("flip-rotate", "random flips and 90° rotations (never for questions naming left/right/top/bottom): 1 or 0")]
    public int FlipRotate { get; set; } = 1;

    public static string Usage()
    {
        var lines = new List<string> { "usage: SpatialNet.Samples.RsvqaLr --data PATH --out DIR [options]", "options (default):" };
        foreach (var (attr, prop) in Properties())
            lines.Add($"  --{attr.Name,-20} {attr.Help} ({Format(prop.GetValue(new ExperimentOptions()))})");
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>Parses <c>--name value</c> pairs; unknown names or bad values throw <see cref="ArgumentException"/> naming them.</summary>
    public static ExperimentOptions Parse(IReadOnlyList<string> args)
    {
        var options = new ExperimentOptions();
        var byName = Properties().ToDictionary(p => p.Attr.Name, p => p.Prop, StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i += 2)
        {
            var name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..] : null;
            if (name is null || !byName.TryGetValue(name, out var prop))
                throw new ArgumentException($"Unknown option '{args[i]}'. Allowed: {string.Join(", ", byName.Keys.Select(k => "--" + k))}.");
            if (i + 1 >= args.Count) throw new ArgumentException($"Option --{name} needs a value.");
            var text = args[i + 1];
            try
            {
                object value = prop.PropertyType == typeof(int) ? int.Parse(text, CultureInfo.InvariantCulture)
                    : prop.PropertyType == typeof(double) ? double.Parse(text, CultureInfo.InvariantCulture)
                    : text;
                prop.SetValue(options, value);
            }
            catch (FormatException)
            {
                throw new ArgumentException($"Option --{name}: '{text}' is not a valid {(prop.PropertyType == typeof(int) ? "integer" : "number")}.");
            }
        }
        if (string.IsNullOrWhiteSpace(options.Data)) throw new ArgumentException("--data is required (the RSVQA-LR folder).");
        if (string.IsNullOrWhiteSpace(options.Out)) throw new ArgumentException("--out is required (the output folder).");
        if (options.ImageSize % options.Patch != 0) throw new ArgumentException($"--image-size {options.ImageSize} must be a multiple of --patch {options.Patch}.");
        if (options.Dim % options.Heads != 0) throw new ArgumentException($"--heads {options.Heads} must divide --dim {options.Dim}.");
        if (options.Epochs < 1 || options.Batch < 1 || options.Threads < 1 || options.RuralUrbanRepeat < 1)
            throw new ArgumentException("--epochs, --batch, --threads and --rural-urban-repeat must be at least 1.");
        return options;
    }

    /// <summary>Every setting as JSON (for the report).</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject();
        foreach (var (attr, prop) in Properties())
            json[attr.Name] = prop.GetValue(this) switch
            {
                int i => JsonValue.Create(i),
                double d => JsonValue.Create(d),
                var other => JsonValue.Create(other?.ToString()),
            };
        return json;
    }

    /// <summary>The command line that reproduces this run.</summary>
    public string CommandLine()
    {
        var defaults = new ExperimentOptions();
        var parts = new List<string> { "dotnet run -c Release --project samples/SpatialNet.Samples.RsvqaLr --", $"--data {Data}", $"--out {Out}" };
        foreach (var (attr, prop) in Properties())
        {
            if (attr.Name is "data" or "out") continue;
            var value = prop.GetValue(this);
            if (!Equals(value, prop.GetValue(defaults))) parts.Add($"--{attr.Name} {Format(value)}");
        }
        return string.Join(' ', parts);
    }

    private static string Format(object? value) => value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : value?.ToString() ?? "";

    private static IEnumerable<(OptionAttribute Attr, PropertyInfo Prop)> Properties() =>
        typeof(ExperimentOptions).GetProperties()
            .Select(p => (Attr: p.GetCustomAttribute<OptionAttribute>(), Prop: p))
            .Where(p => p.Attr is not null)
            .Select(p => (p.Attr!, p.Prop));
}

[AttributeUsage(AttributeTargets.Property)]
internal sealed class OptionAttribute(string name, string help) : Attribute
{
    public string Name { get; } = name;

    public string Help { get; } = help;
}
