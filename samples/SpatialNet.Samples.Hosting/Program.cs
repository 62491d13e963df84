// SpatialNet training hosted in a .NET Generic Host: configuration (appsettings.json, environment,
// command line), logging, dependency injection and cancellation all come from the host.
//
//   dotnet run -c Release --project samples/SpatialNet.Samples.Hosting [-- --SpatialNet:trainer:epochs=5]
//
// Ctrl+C stops the host: the trainer writes checkpoints/interrupted.safetensors, and the run can be
// continued with `spatialnet train --config <output>/config.json --resume <output>/checkpoints/interrupted.safetensors`.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SpatialNet.Runtime;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Pipeline;

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    // appsettings.json is copied beside the program, whatever folder `dotnet run` starts in.
    ContentRootPath = AppContext.BaseDirectory,
});
// The SpatialNet section binds onto the library's options (validated at start, unknown keys are errors),
// and the pipeline, its callbacks and the model's registrations come from the container.
builder.Services.AddSpatialNetTraining(builder.Configuration.GetSection("SpatialNet"));
builder.Services.AddSingleton<ITrainerCallback, EpochLog>();
builder.Services.AddHostedService<TrainingService>();
// Time for the interrupted checkpoint and the reports after Ctrl+C.
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(2));

TorchNativeRuntime.EnsureInitialized();
using var host = builder.Build();
await host.RunAsync();
return Environment.ExitCode;

/// <summary>Trains once when the host starts, then stops the host; the host's stopping token cancels training.</summary>
internal sealed partial class TrainingService(TrainingPipeline pipeline, IHostApplicationLifetime lifetime, ILogger<TrainingService> logger)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try
        {
            var result = pipeline.Run(cancellationToken: stoppingToken);
            Finished(logger, result.Training.StopReason, result.Training.EpochsCompleted, result.ReportMarkdown);
        }
        catch (Exception e)
        {
            Failed(logger, e);
            Environment.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }, CancellationToken.None);

    [LoggerMessage(Level = LogLevel.Information, Message = "Training {Reason} after {Epochs} epochs; report {Report}")]
    private static partial void Finished(ILogger logger, StopReason reason, int epochs, string report);

    [LoggerMessage(Level = LogLevel.Error, Message = "Training failed")]
    private static partial void Failed(ILogger logger, Exception exception);
}

/// <summary>A trainer callback from the container: one log line per epoch.</summary>
internal sealed partial class EpochLog(ILogger<EpochLog> logger) : ITrainerCallback
{
    public void OnEpochEnd(Trainer trainer, EpochRecord record, bool improved) =>
        Epoch(logger, record.Epoch, trainer.Options.Epochs, string.Join(", ", record.Metrics.Select(m => FormattableString.Invariant($"{m.Key} {m.Value:F3}"))));

    [LoggerMessage(Level = LogLevel.Information, Message = "Epoch {Epoch}/{Epochs}: {Metrics}")]
    private static partial void Epoch(ILogger logger, int epoch, int epochs, string metrics);
}
