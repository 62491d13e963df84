using System.Globalization;
using Microsoft.Extensions.Options;
using SpatialNet.Heads;

namespace SpatialNet.DependencyInjection;

/// <summary>Validates <see cref="SpatialNetOptions"/>: at least one task, valid and unique task names, λ_reg ≥ 0.</summary>
internal sealed class SpatialNetOptionsValidator : IValidateOptions<SpatialNetOptions>
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

        if (!Enum.IsDefined(options.LossComposer))
        {
            errors.Add($"SpatialNetOptions.LossComposer = {options.LossComposer}; allowed: weighted_sum, uncertainty, dwa or pcgrad.");
        }

        if (!(options.DwaTemperature > 0) || double.IsInfinity(options.DwaTemperature))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"SpatialNetOptions.DwaTemperature = {options.DwaTemperature}; allowed: a finite number > 0."));
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
