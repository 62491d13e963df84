using System.Globalization;
using Microsoft.Extensions.Options;
using SpatialNet.Heads;

namespace SpatialNet.DependencyInjection;

/// <summary>Validates <see cref="SpatialNetOptions"/>: at least one task, valid and unique task names, λ_reg ≥ 0, a registered loss composer.</summary>
/// <param name="composers">The registered loss composers, to check that <see cref="SpatialNetOptions.LossComposer"/> names one; null skips the check.</param>
internal sealed class SpatialNetOptionsValidator(IEnumerable<LossComposerRegistration>? composers = null) : IValidateOptions<SpatialNetOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SpatialNetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.Tasks.Count == 0)
        {
            errors.Add("SpatialNetOptions.Tasks is empty; allowed: at least one task (AddClassificationTask, AddRegressionTask, AddMultiLabelTask or AddTask).");
        }

        foreach (var task in options.Tasks)
        {
            if (TaskDefinition.NameError(task.Name) is { } error)
            {
                errors.Add("SpatialNetOptions.Tasks: " + error);
            }
        }

        foreach (var group in options.Tasks.GroupBy(t => t.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"SpatialNetOptions.Tasks: task name '{group.Key}' is registered {group.Count()} times; allowed: each task name once."));
        }

        if (!(options.L2Lambda >= 0) || double.IsInfinity(options.L2Lambda))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"SpatialNetOptions.L2Lambda = {options.L2Lambda}; allowed: a finite number >= 0 (λ_reg of Eq. 10–11; paper: 0.01)."));
        }

        if (string.IsNullOrWhiteSpace(options.LossComposer))
        {
            errors.Add("SpatialNetOptions.LossComposer is empty; allowed: the name of a registered loss composer (default weighted_sum).");
        }
        else if (composers?.ToList() is { Count: > 0 } registered && LossComposerRegistry.Find(registered, options.LossComposer) is null)
        {
            errors.Add($"SpatialNetOptions.LossComposer = \"{options.LossComposer}\"; allowed: {LossComposerRegistry.Names(registered)} (the registered loss composers).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
