namespace SpatialNet.Training.Evaluation;

/// <summary>Writes a run's <see cref="EvaluationReport"/>s (<c>report</c>, <c>report_test</c>, <c>report_{split}</c>) into its folder.</summary>
public interface IReportWriter
{
    /// <summary>Writes <paramref name="report"/> as <paramref name="name"/> in <paramref name="directory"/>; returns the paths of the JSON and Markdown files.</summary>
    (string Json, string Markdown) Write(EvaluationReport report, string directory, string name);
}

/// <summary>The standard report writer: <c>{name}.json</c> and <c>{name}.md</c> (<see cref="EvaluationReport.Save"/>).</summary>
public sealed class EvaluationReportWriter : IReportWriter
{
    /// <inheritdoc />
    public (string Json, string Markdown) Write(EvaluationReport report, string directory, string name)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.Save(directory, name);
    }
}
