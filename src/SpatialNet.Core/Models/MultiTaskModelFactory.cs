using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SpatialNet.Heads;
using SpatialNet.Modules;

namespace SpatialNet.Models;

/// <summary>
/// The default <see cref="IMultiTaskModelFactory"/>: one encoder from <see cref="IImageEncoderFactory"/>
/// and, for each task of the <see cref="TaskCatalog"/> in order, the head from the
/// <see cref="ITaskHeadFactory"/> registered under the task's name.
/// </summary>
public sealed partial class MultiTaskModelFactory : IMultiTaskModelFactory
{
    private readonly IImageEncoderFactory encoders;
    private readonly TaskCatalog tasks;
    private readonly IServiceProvider services;
    private readonly ILogger logger;

    /// <summary>Creates the factory.</summary>
    /// <param name="encoders">Encoder factory.</param>
    /// <param name="tasks">Tasks, in head order.</param>
    /// <param name="services">Provider of the keyed head factories.</param>
    /// <param name="logger">Logger (null: none).</param>
    public MultiTaskModelFactory(IImageEncoderFactory encoders, TaskCatalog tasks, IServiceProvider services, ILogger<MultiTaskModelFactory>? logger = null)
    {
        this.encoders = encoders ?? throw new ArgumentNullException(nameof(encoders));
        this.tasks = tasks ?? throw new ArgumentNullException(nameof(tasks));
        this.services = services ?? throw new ArgumentNullException(nameof(services));
        this.logger = logger ?? NullLogger<MultiTaskModelFactory>.Instance;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">A task has no registered head factory.</exception>
    public MultiTaskModel Create()
    {
        IImageEncoder encoder = encoders.Create();
        var layout = TokenLayout.Of(encoder);
        var heads = new List<TaskHead>(tasks.Count);
        try
        {
            foreach (var task in tasks)
            {
                var factory = services.GetKeyedService<ITaskHeadFactory>(task.Name)
                    ?? throw new InvalidOperationException(
                        $"No head factory is registered for task '{task.Name}' (keyed ITaskHeadFactory with key '{task.Name}').");
                var head = factory.Create(layout);
                if (head.TaskName != task.Name)
                {
                    head.Dispose();
                    throw new InvalidOperationException($"The head factory of task '{task.Name}' built a head for task '{head.TaskName}'.");
                }

                heads.Add(head);
            }

            var model = new MultiTaskModel(encoder, heads);
            LogBuilt(encoder.GetType().Name, layout.EmbedDim, string.Join(", ", tasks.Select(t => $"{t.Name}:{t.Kind}")),
                model.parameters().Sum(p => p.numel()));
            return model;
        }
        catch
        {
            foreach (var head in heads)
            {
                head.Dispose();
            }

            encoder.AsModule().Dispose();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Built SpatialNet model: {Encoder} (D = {EmbedDim}) with tasks {Tasks}; {Parameters} parameters")]
    private partial void LogBuilt(string encoder, int embedDim, string tasks, long parameters);
}
