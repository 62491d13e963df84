using static TorchSharp.torch;

namespace SpatialNet.Training.Evaluation;

/// <summary>Several evaluators of one split as one: their epoch metrics merged, each adding its rows to the report.</summary>
internal sealed class EvaluatorGroup : IEvaluator
{
    private readonly IReadOnlyList<IEvaluator> _parts;

    public EvaluatorGroup(string split, IReadOnlyList<IEvaluator> parts)
    {
        Split = split;
        _parts = parts;
    }

    public string Split { get; }

    public IReadOnlyDictionary<string, double> Evaluate(EvaluationContext context)
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var part in _parts)
        {
            foreach (var (name, value) in part.Evaluate(context))
                metrics[name] = value;
        }
        return metrics;
    }

    public void AddTo(EvaluationReport report, Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? prepare = null)
    {
        foreach (var part in _parts)
            part.AddTo(report, prepare);
    }
}
