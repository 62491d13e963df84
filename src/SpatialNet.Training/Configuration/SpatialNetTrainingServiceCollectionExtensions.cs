using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SpatialNet.DependencyInjection;
using SpatialNet.Training.Batching;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Pipeline;
using SpatialNet.Heads;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers configured training with dependency injection.</summary>
public static class SpatialNetTrainingServiceCollectionExtensions
{
    /// <summary>
    /// Registers a training run configured by <paramref name="configuration"/> (the keys of docs/training.md;
    /// in a Generic Host usually a section such as <c>SpatialNet</c>): <see cref="TrainingRunOptions"/> (bound
    /// and validated at start), the <see cref="TrainingPipeline"/> that runs it, the standard trainer callbacks
    /// <see cref="CheckpointCallback"/> and <see cref="EarlyStoppingCallback"/>, the <see cref="IReportWriter"/>
    /// (<see cref="EvaluationReportWriter"/>: JSON and Markdown), the <see cref="IBatchSourceFactory"/> of the
    /// training batches (<see cref="BatchSourceFactory"/>), and every registered
    /// <see cref="ITrainerCallback"/> as a callback of its trainer (remove or replace a standard one through
    /// the service collection, e.g. <c>services.RemoveAll&lt;ITrainerCallback&gt;()</c> before adding your own); every registered
    /// <see cref="IEvaluatorFactory"/> adds its evaluators to each evaluated split. The pipeline builds the model through
    /// <c>AddSpatialNet(configuration)</c> once the data has told it the sizes, then the batch source,
    /// evaluators and reports of the run. Task kinds (<c>AddTaskKind</c>) and loss composers (<c>AddLossComposer</c>) the host
    /// registers may be named by the configuration (<c>tasks:N:kind</c>, <c>loss:loss_composer</c>) beside the built-ins.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The run's configuration.</param>
    public static IServiceCollection AddSpatialNetTraining(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<TrainingRunOptions>()
            .Configure<IEnumerable<TaskKindRegistration>, IEnumerable<LossComposerRegistration>>((o, kinds, composers) =>
            {
                var problems = new List<string>();
                TrainingRunOptions.BindInto(configuration, o, problems, RunComponents.WithHost(kinds, composers));
                if (problems.Count > 0)
                    throw new ConfigurationException(null, problems);
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TrainingRunOptions>, TrainingRunOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITrainerCallback, CheckpointCallback>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITrainerCallback, EarlyStoppingCallback>());
        services.TryAddSingleton<IReportWriter, EvaluationReportWriter>();
        services.TryAddSingleton<IBatchSourceFactory, BatchSourceFactory>();
        services.TryAddSingleton(sp => TrainingPipeline.FromContainer(configuration, sp.GetService<ILogger<TrainingPipeline>>(),
            sp.GetServices<ITrainerCallback>(), sp.GetRequiredService<IReportWriter>(), sp.GetRequiredService<IBatchSourceFactory>(),
            sp.GetServices<IEvaluatorFactory>(), RunComponents.WithHost(sp.GetServices<TaskKindRegistration>(), sp.GetServices<LossComposerRegistration>())));
        return services;
    }
}

/// <summary>Validates <see cref="TrainingRunOptions"/> (<see cref="TrainingRunOptions.Problems"/>): every problem names its configuration path.</summary>
internal sealed class TrainingRunOptionsValidator : IValidateOptions<TrainingRunOptions>
{
    public ValidateOptionsResult Validate(string? name, TrainingRunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Problems();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
