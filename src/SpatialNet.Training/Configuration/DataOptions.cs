using SpatialNet.Heads;

namespace SpatialNet.Training.Configuration;

/// <summary>Records a problem when a condition fails: (ok, configuration path, value, what is allowed).</summary>
internal delegate void ConfigCheck(bool ok, string field, object? value, string allowed);

/// <summary>The data: one or more sources (several are interleaved batch by batch) and their preparation.</summary>
public sealed class DataOptions
{
    /// <summary>The sources (at least one).</summary>
    public List<DataSourceOptions> Sources { get; set; } = [];

    /// <summary>Training batch size (paper: 32).</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Evaluation batch size; null uses <see cref="BatchSize"/>.</summary>
    public int? EvalBatchSize { get; set; }

    /// <summary>Split evaluated after each epoch and for early stopping.</summary>
    public string EvalSplit { get; set; } = "val";

    /// <summary>A further split evaluated once at the end (e.g. "test"); null for none.</summary>
    public string? TestSplit { get; set; }

    /// <summary>Normalise images with each source's own training-split statistics.</summary>
    public bool Normalize { get; set; } = true;

    /// <summary>Random flips during training (skipped for RSVQA questions about left/right/top/bottom).</summary>
    public bool Flip { get; set; } = true;

    /// <summary>Random 90° rotations during training (same rule).</summary>
    public bool Rotate90 { get; set; } = true;

    /// <summary>Random resized crop during training: smallest crop area fraction in (0, 1]; 1 (default): off. Not with rsvqa sources.</summary>
    public double CropScale { get; set; } = 1.0;

    /// <summary>Per-band brightness jitter during training: largest offset in normalised units; 0 (default): off.</summary>
    public double JitterBrightness { get; set; }

    /// <summary>Per-band contrast jitter during training: largest relative change in [0, 1); 0 (default): off.</summary>
    public double JitterContrast { get; set; }

    /// <summary>Mixup (Zhang et al. 2018) of training batches: Beta(α, α) parameter α; 0 (default): off. Classification tasks only, not with rsvqa sources.</summary>
    public double MixupAlpha { get; set; }

    /// <summary>CutMix (Yun et al. 2019) of training batches: Beta(α, α) parameter α; 0 (default): off. Same rules as <see cref="MixupAlpha"/>; with both, each mixed batch picks one with probability ½.</summary>
    public double CutmixAlpha { get; set; }

    /// <summary>Probability that a training batch is mixed when <see cref="MixupAlpha"/> or <see cref="CutmixAlpha"/> is set (default 1).</summary>
    public double MixProbability { get; set; } = 1.0;

    /// <summary>
    /// Training sampler: <c>shuffle</c> (default: every sample once per epoch, in a seeded order) or <c>class_balanced</c>
    /// (as many draws with replacement, sample i with probability ∝ 1 / training count of its class, for the first
    /// classification task; one source only, not with the device cache).
    /// </summary>
    public string Sampler { get; set; } = "shuffle";

    /// <summary>
    /// Training batches made ahead on a background thread (<see cref="SpatialNet.Training.Batching.Prefetcher"/>), this many
    /// batches deep; 0 (default) makes each batch when the step asks for it.
    /// </summary>
    public int Prefetch { get; set; }

    /// <summary>
    /// Keep the training split decoded as uint8 on the training device and make every batch there
    /// (<see cref="SpatialNet.Training.Batching.DeviceBatchCache"/>: gather, flips and rotations of the dihedral group,
    /// normalisation). One source only, not RSVQA (its position questions forbid some transforms).
    /// </summary>
    public bool DeviceCache { get; set; }

    /// <summary>Encode each distinct image of a batch once (RSVQA: about 100 questions per image); needs samples with an image id.</summary>
    public bool DeduplicateImages { get; set; }

    /// <summary>Question type → how many times each training question of that type enters an epoch (e.g. <c>{"rural_urban": 10}</c>); null: once.</summary>
    public Dictionary<string, int>? Repeats { get; set; }

    /// <summary>Training batches of questions of similar length, sorted within runs of this many batches; 0 (default): off.</summary>
    public int LengthBuckets { get; set; }

    /// <summary>Modality dropout: probability that a training image is replaced by the mean colour; 0 (default): off.</summary>
    public double ImageDrop { get; set; }

    /// <summary>VQA reports add the blanked-image ablation: the same model with every evaluated image replaced by the mean colour.</summary>
    public bool BlankImageAblation { get; set; }

    private static string KeepsGeometry() => string.Join(" or ", DataSourceKinds.BuiltIn.Where(k => k.KeepsGeometry).Select(k => k.Name));

    internal void Collect(List<string> p, ConfigCheck check, IReadOnlyList<TaskOptions> tasks)
    {
        check(BatchSize >= 1, "data:batch_size", BatchSize, "an integer >= 1");
        check(EvalBatchSize is null or >= 1, "data:eval_batch_size", EvalBatchSize, "an integer >= 1 or null");
        check(!string.IsNullOrWhiteSpace(EvalSplit), "data:eval_split", EvalSplit, "a split name such as val");
        check(Prefetch >= 0, "data:prefetch", Prefetch, "an integer >= 0 (0: off)");
        check(LengthBuckets >= 0, "data:length_buckets", LengthBuckets, "an integer >= 0 (0: off)");
        check(ImageDrop is >= 0 and <= 1, "data:image_drop", ImageDrop, "a number in [0, 1]");
        check(Sampler is "shuffle" or "class_balanced", "data:sampler", Sampler, "shuffle or class_balanced");
        check(CropScale is > 0 and <= 1, "data:crop_scale", CropScale, "a number in (0, 1] (1: off)");
        check(JitterBrightness >= 0 && double.IsFinite(JitterBrightness), "data:jitter_brightness", JitterBrightness, "a finite number >= 0 (0: off)");
        check(JitterContrast is >= 0 and < 1, "data:jitter_contrast", JitterContrast, "a number in [0, 1) (0: off)");
        if (CropScale < 1 && Sources is { Count: > 0 })
            check(Sources.All(s => s?.SourceKind?.KeepsGeometry != true), "data:crop_scale", CropScale, $"1 with {KeepsGeometry()} sources (a crop changes counts and positions that questions ask about)");
        check(MixupAlpha >= 0 && double.IsFinite(MixupAlpha), "data:mixup_alpha", MixupAlpha, "a finite number >= 0 (0: off)");
        check(CutmixAlpha >= 0 && double.IsFinite(CutmixAlpha), "data:cutmix_alpha", CutmixAlpha, "a finite number >= 0 (0: off)");
        check(MixProbability is >= 0 and <= 1, "data:mix_probability", MixProbability, "a number in [0, 1]");
        foreach (var (key, alpha) in new[] { ("data:mixup_alpha", MixupAlpha), ("data:cutmix_alpha", CutmixAlpha) })
        {
            if (!(alpha > 0))
                continue;
            // Mixed targets are soft class labels: only the classification loss takes them.
            var other = tasks.FirstOrDefault(t => t is not null && t.ParsedKind != TaskKind.Classification);
            check(other is null, key, alpha, $"0 unless every task is classification (task '{other?.Name}' is {other?.Kind}: its targets cannot be mixed)");
            if (Sources is { Count: > 0 })
                check(Sources.All(s => s?.SourceKind?.KeepsGeometry != true), key, alpha, $"0 with {KeepsGeometry()} sources (a mixed image no longer answers its question)");
        }
        if ((CropScale < 1 || JitterBrightness > 0 || JitterContrast > 0 || MixupAlpha > 0 || CutmixAlpha > 0) && DeviceCache)
            p.Add("data:crop_scale / data:jitter_* / data:mixup_alpha / data:cutmix_alpha: not with data:device_cache (its batches are augmented on the device by flips and rotations only).");
        if (Sampler == "class_balanced")
        {
            check(Sources is null || Sources.Count <= 1, "data:sampler", Sampler, $"class_balanced only with one source (there are {Sources?.Count})");
            check(!DeviceCache, "data:sampler", Sampler, "class_balanced not with data:device_cache (the device cache draws its own batches)");
            check(tasks.Any(t => t?.ParsedKind == TaskKind.Classification), "data:sampler", Sampler, "class_balanced needs a classification task");
        }
        foreach (var (type, times) in Repeats ?? [])
            check(times >= 0, $"data:repeats:{type}", times, "an integer >= 0");
        if ((Repeats is { Count: > 0 } || LengthBuckets > 0) && Sources is { Count: > 1 })
            p.Add("data:repeats / data:length_buckets: only with one source.");
        if (DeviceCache && Sources is { Count: > 0 })
        {
            check(Sources.Count == 1, "data:device_cache", true, $"only with one source (there are {Sources.Count})");
            check(Sources.Count != 1 || Sources[0]?.SourceKind?.KeepsGeometry != true, "data:device_cache", true, $"not with an {KeepsGeometry()} source (questions about left/right/top/bottom forbid some transforms)");
        }
        if (Sources is null || Sources.Count == 0)
        {
            p.Add("data:sources: at least one source is needed.");
            return;
        }
        for (int i = 0; i < Sources.Count; i++)
        {
            if (Sources[i] is null) { p.Add($"data:sources:{i}: null."); continue; }
            Sources[i].Collect($"data:sources:{i}", p, check, tasks);
        }
        for (int i = 0; i < tasks.Count; i++)
        {
            var t = tasks[i];
            if (t?.Name is not null && !Sources.Any(s => s is not null && s.TargetsOf(t) is not null))
                p.Add($"tasks:{i}:target: task '{t.Name}' gets targets from no source; give it a \"target\" or map it in a source's \"targets\".");
        }
    }
}

/// <summary>One dataset, of a kind in <see cref="DataSourceKinds"/>: synthetic scenes (in memory), UCM-caption, RSVQA, an image folder or segmentation folders.</summary>
public sealed class DataSourceOptions
{
    /// <summary><c>synthetic</c>, <c>ucm-caption</c>, <c>rsvqa</c>, <c>image-folder</c> or <c>segmentation</c> (mmsegmentation's img_dir/ann_dir layout).</summary>
    public string Kind { get; set; } = "synthetic";

    /// <summary>Dataset folder (not for synthetic).</summary>
    public string? Path { get; set; }

    /// <summary>Share of training batches drawn from this source when there are several.</summary>
    public double Proportion { get; set; } = 1.0;

    /// <summary>
    /// Task name → sample entries (a name or a list). With this map, the source serves exactly the tasks
    /// listed; without it, every task that has its own <c>target</c>.
    /// </summary>
    public Dictionary<string, List<string>>? Targets { get; set; }

    /// <summary>Synthetic: training scenes.</summary>
    public int TrainCount { get; set; } = 1000;

    /// <summary>Synthetic: validation scenes.</summary>
    public int ValCount { get; set; } = 200;

    /// <summary>Synthetic: test scenes.</summary>
    public int TestCount { get; set; }

    /// <summary>Synthetic: generator seed; null uses the run's seed.</summary>
    public ulong? GeneratorSeed { get; set; }

    /// <summary>Synthetic: per-pixel noise amplitude; null keeps the generator's default.</summary>
    public int? NoiseAmplitude { get; set; }

    /// <summary>UCM-caption / RSVQA: the training split's name.</summary>
    public string TrainSplit { get; set; } = "train";

    /// <summary>UCM-caption / RSVQA: allow one image in several splits (default false: an error naming both entries).</summary>
    public bool AllowImagesInSeveralSplits { get; set; }

    /// <summary>RSVQA: <c>lr</c> or <c>hr</c>.</summary>
    public string Variant { get; set; } = "lr";

    /// <summary>Image folder: fraction of each class held out as the validation split (stratified, seeded).</summary>
    public double ValFraction { get; set; } = 0.2;

    /// <summary>Image folder: fraction held out as the test split.</summary>
    public double TestFraction { get; set; }

    /// <summary>UCM-caption: <c>per_image</c> (one training sample per image, its first sentence) or <c>per_sentence</c> (one per sentence, the usual way to train a caption decoder). Evaluation is always per image.</summary>
    public string CaptionSampling { get; set; } = "per_image";

    /// <summary>UCM-caption: longest caption in tokens, start and end tokens included (UCM-caption's longest sentence has 22 words).</summary>
    public int CaptionMaxLength { get; set; } = 32;

    /// <summary>UCM-caption: words seen fewer times in the training captions become &lt;unk&gt;.</summary>
    public int CaptionMinCount { get; set; } = 1;

    /// <summary>
    /// Files (not synthetic): the image bands to read, 1-based, in the model's input order (e.g. <c>[4, 3, 2, 8]</c> for
    /// Sentinel-2 B4, B3, B2, B8); null reads every band. As many as <c>model:in_channels</c>.
    /// </summary>
    public List<int>? Bands { get; set; }

    /// <summary>
    /// Files (not synthetic): the raw values [low, high] mapped to 0 and 1 before normalisation (clamped), one pair for
    /// every band (<c>[0, 10000]</c>) or one per band (<c>[[0, 10000], [0, 8000], …]</c>); null: the sample type's range
    /// (0–255 for 8-bit, 0–65535 for 16-bit images). Images are kept at their own precision either way.
    /// </summary>
    public List<List<double>>? InputRange { get; set; }

    /// <summary>
    /// <see cref="InputRange"/> as [low, high] pairs: <c>[0, 10000]</c> binds as two one-value lists and is one pair;
    /// null when unset or malformed.
    /// </summary>
    internal IReadOnlyList<(double Low, double High)>? InputRangePairs()
    {
        if (InputRange is not { Count: > 0 } r || r.Any(p => p is null))
            return null;
        if (r.Count == 2 && r.All(p => p.Count == 1))
            return [(r[0][0], r[1][0])];
        return r.All(p => p.Count == 2) ? r.Select(p => (p[0], p[1])).ToArray() : null;
    }

    /// <summary><see cref="InputRange"/> as configured, for messages.</summary>
    internal string? InputRangeShown() => InputRange is null ? null
        : "[" + string.Join(", ", InputRange.Select(p => p is null ? "null" : p.Count == 1 ? p[0].ToString(System.Globalization.CultureInfo.InvariantCulture)
            : "[" + string.Join(", ", p.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]")) + "]";

    /// <summary>The registered kind named by <see cref="Kind"/>, or null.</summary>
    internal DataSourceKind? SourceKind => DataSourceKinds.Find(Kind);

    /// <summary>Segmentation: mask value of pixels without a label (samples carry 255 there).</summary>
    public int IgnoreIndex { get; set; } = 255;

    /// <summary>Segmentation: mask value 0 means "no label"; it is ignored and the other values shift down by one (mmsegmentation's reduce_zero_label).</summary>
    public bool ReduceZeroLabel { get; set; }

    /// <summary>Segmentation: the ann_dir rasters hold per-pixel values (one per band), read as the "values" entry, not class indices.</summary>
    public bool TargetsAreValues { get; set; }

    /// <summary>Segmentation with <see cref="TargetsAreValues"/>: the annotation value of invalid pixels (NaN always is).</summary>
    public double? NoData { get; set; }

    /// <summary>The targets of <paramref name="task"/> on this source, or null when it does not serve the task.</summary>
    public IReadOnlyList<string>? TargetsOf(TaskOptions task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (Targets is not null)
            return Targets.TryGetValue(task.Name, out var keys) ? keys : null;
        return task.Target;
    }

    internal void Collect(string at, List<string> p, ConfigCheck check, IReadOnlyList<TaskOptions> tasks)
    {
        var kind = SourceKind;
        check(kind is not null, $"{at}:kind", Kind, DataSourceKinds.Allowed);
        if (kind?.ReadsFiles == true)
            check(!string.IsNullOrWhiteSpace(Path), $"{at}:path", Path, "the dataset folder");
        check(Proportion > 0 && double.IsFinite(Proportion), $"{at}:proportion", Proportion, "a finite number > 0");
        kind?.Validate(this, at, check);
        if (Bands is not null)
            check(Bands.Count > 0 && Bands.All(b => b >= 1), $"{at}:bands", "[" + string.Join(", ", Bands) + "]", "1-based band numbers (1 is the first band)");
        if (InputRange is not null)
        {
            var pairs = InputRangePairs();
            var shown = InputRangeShown();
            check(pairs is not null && pairs.All(p => double.IsFinite(p.Low) && double.IsFinite(p.High) && p.High > p.Low), $"{at}:input_range", shown,
                "[low, high] for every band or [[low, high], …] one per band, with high > low");
            if (pairs is { Count: > 1 } && Bands is { Count: > 0 })
                check(pairs.Count == Bands.Count, $"{at}:input_range", shown, $"one pair, or one per selected band ({Bands.Count})");
        }
        if (Targets is not null)
        {
            foreach (var (task, keys) in Targets)
            {
                check(tasks.Any(t => t?.Name == task), $"{at}:targets:{task}", task, "the name of a task in \"tasks\"");
                check(keys is { Count: > 0 } && keys.All(k => !string.IsNullOrWhiteSpace(k)), $"{at}:targets:{task}", keys is null ? null : "[" + string.Join(", ", keys) + "]", "a sample entry name or a non-empty list of them");
            }
        }
    }
}

