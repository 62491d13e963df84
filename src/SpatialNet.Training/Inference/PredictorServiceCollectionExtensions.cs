using Microsoft.Extensions.DependencyInjection.Extensions;
using SpatialNet.Training.Inference;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a <see cref="Predictor"/> in a service collection.</summary>
public static class PredictorServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="Predictor"/> (a singleton, opened on first use and disposed with the
    /// provider) for the training run in <paramref name="runDirectory"/>. The predictor is safe to share
    /// between threads (calls are serialised).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="runDirectory">The run folder (<c>output_dir</c> of the training configuration).</param>
    /// <param name="configure">Sets device, backend and batch size; null keeps the defaults (CPU, TorchSharp).</param>
    public static IServiceCollection AddSpatialNetPredictor(this IServiceCollection services, string runDirectory, Action<PredictorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(runDirectory);
        var options = new PredictorOptions();
        configure?.Invoke(options);
        options.Validate();
        services.TryAddSingleton(_ => Predictor.Open(runDirectory, options));
        return services;
    }
}
