using System.Text.Json.Nodes;

namespace SpatialNet.Training.Pipeline;

public sealed partial class TrainingPipeline
{
    /// <summary>Name of the run's record of every split's origin, size and files.</summary>
    internal const string SplitsFileName = "splits.json";

    private sealed partial class RunSetup
    {
        /// <summary>The training split and <paramref name="splits"/> of every source that has them, in source order.</summary>
        public IReadOnlyList<(OpenedSource Source, SplitRecord Record)> SplitRecords(params string?[] splits)
        {
            var result = new List<(OpenedSource, SplitRecord)>();
            foreach (var s in _sources)
            {
                foreach (var name in splits.Prepend(s.Kind.TrainIsTrainingSplit ? "train" : s.Config.TrainSplit).OfType<string>().Distinct(StringComparer.Ordinal))
                {
                    if (s.Record(name) is { } record)
                        result.Add((s, record));
                }
            }
            return result;
        }

        /// <summary>splits.json: per source, each split's origin, sample count and file list.</summary>
        public static JsonObject SplitsJson(IReadOnlyList<(OpenedSource Source, SplitRecord Record)> records) => new()
        {
            ["sources"] = new JsonArray(records.GroupBy(r => r.Source.Index).Select(g => (JsonNode?)new JsonObject
            {
                ["name"] = g.First().Source.Train.Name,
                ["kind"] = g.First().Source.Kind.Name,
                ["path"] = g.First().Source.Config.Path is { } p ? Path.GetFullPath(p) : null,
                ["splits"] = new JsonObject(g.Select(r => KeyValuePair.Create(r.Record.Split, (JsonNode?)r.Record.ToJson()))),
            }).ToArray()),
        };

        /// <summary>The report's facts: one line per split ("val split: …; 40 samples"), naming the source when there are several.</summary>
        public static IEnumerable<KeyValuePair<string, string>> SplitFacts(IReadOnlyList<(OpenedSource Source, SplitRecord Record)> records)
        {
            bool several = records.Select(r => r.Source.Index).Distinct().Count() > 1;
            return records.Select(r => KeyValuePair.Create(several ? $"{r.Record.Split} split ({r.Source.Train.Name})" : $"{r.Record.Split} split", r.Record.Describe()));
        }
    }
}

public sealed partial class TrainingPipeline
{
    /// <summary>The report's line of the optimiser, schedule and data settings a result depends on.</summary>
    internal static string Hyperparameters(Configuration.TrainingRunOptions config)
    {
        var t = config.Trainer;
        var d = config.Data;
        return System.FormattableString.Invariant(
            $"learning_rate {t.LearningRate:R}, weight_decay {t.WeightDecay:R}, epochs {t.Epochs}, batch_size {d.BatchSize}, warmup_steps {t.WarmupSteps}, warmup_fraction {t.WarmupFraction:R}, ") +
            System.FormattableString.Invariant(
            $"min_lr_ratio {t.MinLrRatio:R}, gradient_clip_norm {(t.GradientClipNorm is double g ? g.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "none")}, ") +
            System.FormattableString.Invariant(
            $"precision {t.Precision}, loss_composer {config.Loss.LossComposer}, l2_lambda {config.Loss.L2Lambda:R}, sampler {d.Sampler}, flip {d.Flip}, rotate90 {d.Rotate90}, normalize {d.Normalize}, seed {config.Seed}");
    }
}
