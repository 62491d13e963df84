using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Losses;
using SpatialNet.Models;
using SpatialNet.Modules;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers SpatialNet's model, heads and loss composition with dependency injection.</summary>
public static class SpatialNetServiceCollectionExtensions
{
    /// <summary>
    /// Registers the SpatialNet services and returns a builder to choose the encoder, add tasks and
    /// pick the loss composer.
    /// </summary>
    /// <remarks>
    /// Registered (singletons; each with <c>TryAdd</c>, so a host can register its own first or
    /// replace it afterwards): <see cref="IImageEncoderFactory"/> (Vision Transformer),
    /// <see cref="TaskCatalog"/>, <see cref="IMultiTaskModelFactory"/>, <see cref="MultiTaskModel"/>,
    /// the built-in task kinds by name (<see cref="TaskKindRegistration"/>: <c>classification</c>, <c>regression</c>, <c>multi_label</c>, <c>vqa</c>,
    /// <c>caption</c>, through <see cref="TaskKindServiceCollectionExtensions.AddTaskKind"/>),
    /// the built-in loss composers by name (<c>weighted_sum</c>, <c>uncertainty</c>, <c>dwa</c>, <c>pcgrad</c>, <c>gradnorm</c>, through
    /// <see cref="LossComposerServiceCollectionExtensions.AddLossComposer{TComposer, TOptions}(IServiceCollection, string, Func{IServiceProvider, TOptions, TComposer})"/>),
    /// <see cref="ILossComposer"/> (the one <see cref="SpatialNetOptions.LossComposer"/> names; default <see cref="WeightedSum"/>, Eq. 6), <see cref="L2Regularization"/>
    /// (Eq. 10–11), and validators for <see cref="SpatialNetOptions"/>, <see cref="VisionTransformerOptions"/>
    /// and every task's named head options, all run at start (<c>ValidateOnStart</c>) and when the
    /// model is first resolved; a failure throws <see cref="OptionsValidationException"/> whose
    /// messages name each option and its allowed values. The native runtime loader logs through the
    /// host's <see cref="ILoggerFactory"/>, when one is registered, from the model factory's creation on.
    /// </remarks>
    public static SpatialNetBuilder AddSpatialNet(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<SpatialNetOptions>().ValidateOnStart();
        services.AddOptions<VisionTransformerOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SpatialNetOptions>, SpatialNetOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<VisionTransformerOptions>, VisionTransformerOptionsValidator>());

        services.TryAddSingleton<IImageEncoderFactory, VisionTransformerFactory>();
        services.TryAddSingleton(sp => new TaskCatalog(
            sp.GetRequiredService<IOptions<SpatialNetOptions>>().Value.Tasks
                .Select(t => sp.GetRequiredKeyedService<TaskDefinition>(t.Name))));
        services.TryAddSingleton<IMultiTaskModelFactory>(sp =>
        {
            // The model's construction is the first torch call: the native loader logs through the host.
            SpatialNet.Runtime.TorchNativeRuntime.UseHostLogger(sp.GetService<ILoggerFactory>());
            return new MultiTaskModelFactory(
                sp.GetRequiredService<IImageEncoderFactory>(),
                sp.GetRequiredService<TaskCatalog>(),
                sp,
                sp.GetService<ILogger<MultiTaskModelFactory>>());
        });
        services.TryAddSingleton(sp => sp.GetRequiredService<IMultiTaskModelFactory>().Create());
        TaskKindRegistry.AddBuiltIn(services);
        LossComposerRegistry.AddBuiltIn(services);
        services.TryAddSingleton(sp =>
        {
            // The composer loss:loss_composer names (SpatialNetOptions.LossComposer), as registered by AddLossComposer.
            var name = sp.GetRequiredService<IOptions<SpatialNetOptions>>().Value.LossComposer;
            var composers = sp.GetServices<LossComposerRegistration>().ToList();
            var registration = LossComposerRegistry.Find(composers, name)
                ?? throw new OptionsValidationException(nameof(SpatialNetOptions), typeof(SpatialNetOptions),
                    [$"SpatialNetOptions.LossComposer = \"{name}\"; allowed: {LossComposerRegistry.Names(composers)} (the registered loss composers)."]);
            return sp.GetRequiredKeyedService<ILossComposer>(registration.Name);
        });
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SpatialNetOptions>>().Value;
            return new L2Regularization(options.L2Lambda, options.L2Selection);
        });
        return new SpatialNetBuilder(services);
    }

    /// <summary>Registers the SpatialNet services and configures them with <paramref name="configure"/>.</summary>
    /// <example>
    /// <code>
    /// services.AddSpatialNet(sn => sn
    ///     .UseVisionTransformer(o => { o.Depth = 12; o.EmbedDim = 512; o.NumHeads = 8; o.PatchSize = 16; o.ImageSize = 256; })
    ///     .AddClassificationTask("land_use", classes: 21)
    ///     .AddRegressionTask("building_count"));
    /// </code>
    /// </example>
    public static IServiceCollection AddSpatialNet(this IServiceCollection services, Action<SpatialNetBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(services.AddSpatialNet());
        return services;
    }
}
