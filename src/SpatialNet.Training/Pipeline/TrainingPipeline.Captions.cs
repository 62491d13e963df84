using SpatialNet.Heads;
using SpatialNet.Training.Data;
using SpatialNet.Training.Evaluation;
using static TorchSharp.torch;

namespace SpatialNet.Training.Pipeline;

// Caption tasks in a configured run: a CaptionEvaluator per (UCM-caption source, caption task) and split,
// run after each epoch when the task asks for it and always for the reports (Table I).
public sealed partial class TrainingPipeline
{
    private sealed partial class RunSetup
    {
        private readonly Dictionary<string, IReadOnlyList<CaptionEvaluator>> _captionEvaluators = new(StringComparer.Ordinal);

        /// <summary>The trainer's batch preparation (device, mixed-precision casts), once a trainer exists.</summary>
        public Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? PrepareBatches { get; set; }

        /// <summary>
        /// The epoch evaluator: <paramref name="tasks"/> plus the caption evaluators of the caption tasks
        /// that evaluate every epoch (their <c>{task}/bleu_4</c> … <c>{task}/cider</c> join the epoch metrics).
        /// </summary>
        public IEvaluator? WithCaptions(MultiTaskEvaluator? tasks, string split)
        {
            var captions = CaptionEvaluators(split)
                .Where(e => Options(Task(e.Options.CaptionTask)).EvaluateEveryEpoch)
                .ToArray();
            if (captions.Length == 0)
                return tasks;
            return new EvaluatorGroup(split, tasks is null ? captions : [tasks, .. captions]);
        }

        /// <summary>Runs the caption evaluators of <paramref name="split"/> on the model's current weights and adds Table I to <paramref name="report"/>.</summary>
        public void AddCaptionTables(EvaluationReport report, string split)
        {
            foreach (var evaluator in CaptionEvaluators(split))
            {
                var result = evaluator.Run(PrepareBatches);
                result.AddTo(report);
                report.With($"{result.Task} decoding", result.Decoding);
                if (result.LandUseAccuracy is double accuracy)
                    report.With($"{result.Task} retrieval", $"classes predicted by '{evaluator.Options.ClassificationTask}' (accuracy {accuracy:F4})");
            }
        }

        /// <summary>One caption evaluator per caption task on each UCM-caption source that has <paramref name="split"/>.</summary>
        private IReadOnlyList<CaptionEvaluator> CaptionEvaluators(string split)
        {
            if (_captionEvaluators.TryGetValue(split, out var cached))
                return cached;
            var evaluators = new List<CaptionEvaluator>();
            foreach (var task in _tasks.Where(t => t.Kind == TaskKind.Captioning))
            {
                foreach (var source in _sources.Where(s => s.Targets.ContainsKey(task.Name) && s.CaptionEncoder is not null))
                {
                    if (source.Split(split) is not UcmCaptionDataset dataset || source.Train is not UcmCaptionDataset train)
                        continue;
                    evaluators.Add(CaptionEvaluator.ForUcmCaption(Model, dataset, source.CaptionEncoder!, CaptionBaselines.FromUcmCaption(train),
                        new CaptionEvaluatorOptions
                        {
                            CaptionTask = task.Name,
                            ClassificationTask = RetrievalTask(task, source),
                            Decoding = ((CaptionHeadOptions)task.Head!).Decoding,
                            Split = split,
                        },
                        Preparation(source, augment: false).Transform, Device, _config.Data.EvalBatchSize ?? _config.Data.BatchSize));
                }
            }
            _captionEvaluators[split] = evaluators;
            return evaluators;
        }

        // The configured retrieval task, or the first classification task the same source serves from "label".
        private string? RetrievalTask(TaskDefinition caption, OpenedSource source)
        {
            if (Options(caption).RetrievalTask is { } named)
            {
                var task = _tasks.FirstOrDefault(t => t.Name == named);
                if (task is null || task.Kind != TaskKind.Classification)
                    throw new DependencyInjection.ConfigurationException(
                        $"tasks:{_tasks.IndexOf(caption)}:retrieval_task = \"{named}\": allowed the name of a classification task ({string.Join(", ", _tasks.Where(t => t.Kind == TaskKind.Classification).Select(t => t.Name))}).");
                return named;
            }
            return _tasks.FirstOrDefault(t => t.Kind == TaskKind.Classification
                && source.Targets.TryGetValue(t.Name, out var keys) && keys is [SampleKeys.Label])?.Name;
        }

        private TaskDefinition Task(string name) => _tasks.First(t => t.Name == name);
    }
}
