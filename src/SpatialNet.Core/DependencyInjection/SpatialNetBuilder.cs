using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SpatialNet.Heads;
using SpatialNet.Losses;
using SpatialNet.Models;
using SpatialNet.Modules;
using TorchSharp.Modules;

namespace SpatialNet.DependencyInjection;

/// <summary>
/// Configures the SpatialNet services: encoder, tasks and their heads, loss composer, L2 term.
/// Returned by <c>services.AddSpatialNet()</c>; every method returns the builder for chaining.
/// </summary>
/// <remarks>
/// Methods named <c>Use…</c> replace a component explicitly. Components not chosen here are
/// registered with <c>TryAdd</c>, so a host that registers its own <see cref="IImageEncoderFactory"/>,
/// <see cref="ILossComposer"/>, keyed <see cref="ITaskHeadFactory"/> (key = task name) or
/// <see cref="L2Regularization"/> first keeps it. Multimodal heads (VQA, captioning) plug in through
/// <see cref="AddTask{TOptions}"/> with their own options type.
/// </remarks>
public sealed class SpatialNetBuilder
{
    /// <summary>Creates the builder over <paramref name="services"/>.</summary>
    public SpatialNetBuilder(IServiceCollection services)
    {
        Services = services ?? throw new ArgumentNullException(nameof(services));
    }

    /// <summary>The service collection being configured.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Uses the Vision Transformer encoder with these settings (defaults: the paper's configuration).</summary>
    /// <param name="configure">Changes to <see cref="VisionTransformerOptions"/>.</param>
    public SpatialNetBuilder UseVisionTransformer(Action<VisionTransformerOptions>? configure = null)
    {
        if (configure is not null)
        {
            Services.Configure(configure);
        }

        Services.Replace(ServiceDescriptor.Singleton<IImageEncoderFactory, VisionTransformerFactory>());
        return this;
    }

    /// <summary>Uses another encoder factory.</summary>
    public SpatialNetBuilder UseEncoder<TFactory>() where TFactory : class, IImageEncoderFactory
    {
        Services.Replace(ServiceDescriptor.Singleton<IImageEncoderFactory, TFactory>());
        return this;
    }

    /// <summary>Uses encoders made by <paramref name="create"/> (token layout unknown until built).</summary>
    public SpatialNetBuilder UseEncoder(Func<IServiceProvider, IImageEncoder> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        Services.Replace(ServiceDescriptor.Singleton<IImageEncoderFactory>(sp => new DelegateEncoderFactory(() => create(sp))));
        return this;
    }

    /// <summary>Adds a single-label classification task with a <see cref="ClassificationHead"/>.</summary>
    /// <param name="name">Task name (options name of its <see cref="ClassificationHeadOptions"/>).</param>
    /// <param name="classes">Number of classes C.</param>
    /// <param name="configure">Further head settings (pooling, label smoothing, class weights, λ_t, …).</param>
    public SpatialNetBuilder AddClassificationTask(string name, int classes, Action<ClassificationHeadOptions>? configure = null) =>
        AddTask<ClassificationHeadOptions>(name, TaskKind.Classification,
            (_, layout, o) => new ClassificationHead(name, layout, o),
            o => { o.NumClasses = classes; configure?.Invoke(o); });

    /// <summary>Adds a regression task (e.g. object counting) with a <see cref="RegressionHead"/>.</summary>
    /// <param name="name">Task name (options name of its <see cref="RegressionHeadOptions"/>).</param>
    /// <param name="configure">Head settings (outputs, target mean/std, pooling, λ_t, …).</param>
    public SpatialNetBuilder AddRegressionTask(string name, Action<RegressionHeadOptions>? configure = null) =>
        AddTask<RegressionHeadOptions>(name, TaskKind.Regression,
            (_, layout, o) => new RegressionHead(name, layout, o),
            configure);

    /// <summary>Adds a multi-label task with a <see cref="MultiLabelHead"/>.</summary>
    /// <param name="name">Task name (options name of its <see cref="MultiLabelHeadOptions"/>).</param>
    /// <param name="labels">Number of labels L.</param>
    /// <param name="configure">Further head settings (positive weights, pooling, λ_t, …).</param>
    public SpatialNetBuilder AddMultiLabelTask(string name, int labels, Action<MultiLabelHeadOptions>? configure = null) =>
        AddTask<MultiLabelHeadOptions>(name, TaskKind.MultiLabel,
            (_, layout, o) => new MultiLabelHead(name, layout, o),
            o => { o.NumLabels = labels; configure?.Invoke(o); });

    /// <summary>
    /// Adds a task of any kind: registers its named options <typeparamref name="TOptions"/> (validated
    /// at start), its <see cref="TaskDefinition"/> and a keyed <see cref="ITaskHeadFactory"/> calling
    /// <paramref name="createHead"/>. The way to plug in heads defined elsewhere (VQA, captioning).
    /// </summary>
    /// <typeparam name="TOptions">The head's options type.</typeparam>
    /// <param name="name">Task name; also the options name.</param>
    /// <param name="kind">What the task predicts.</param>
    /// <param name="createHead">Builds the head from the services, the encoder's token layout and the task's options.</param>
    /// <param name="configure">Configures the task's options.</param>
    public SpatialNetBuilder AddTask<TOptions>(
        string name,
        TaskKind kind,
        Func<IServiceProvider, TokenLayout, TOptions, TaskHead> createHead,
        Action<TOptions>? configure = null)
        where TOptions : TaskHeadOptions =>
        AddRegisteredTask(name, kind, null, createHead, configure);

    /// <summary>Adds a task of a registered kind (<see cref="TaskKindRegistration"/>), which its <see cref="TaskDefinition"/> carries.</summary>
    internal SpatialNetBuilder AddRegisteredTask<TOptions>(
        string name,
        TaskKind kind,
        TaskKindRegistration? kindRegistration,
        Func<IServiceProvider, TokenLayout, TOptions, TaskHead> createHead,
        Action<TOptions>? configure = null)
        where TOptions : TaskHeadOptions
    {
        // Invalid or duplicate names are reported together with everything else by the validators.
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(createHead);
        var registration = new TaskDefinition(name, kind) { HeadOptionsType = typeof(TOptions), KindRegistration = kindRegistration };
        Services.Configure<SpatialNetOptions>(o => o.Tasks.Add(registration));
        var options = Services.AddOptions<TOptions>(name).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TaskHeadOptionsValidator<TOptions>>());
        Services.AddKeyedSingleton(name, (sp, _) =>
        {
            var head = sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name);
            return registration with { LossWeight = head.LossWeight, Head = head };
        });
        Services.TryAddKeyedSingleton<ITaskHeadFactory>(name, (sp, _) => new DelegateTaskHeadFactory(layout =>
            createHead(sp, layout, sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name))));
        return this;
    }

    /// <summary>Replaces the head of task <paramref name="name"/> (its options and loss weight stay as registered).</summary>
    public SpatialNetBuilder UseHead(string name, Func<IServiceProvider, TokenLayout, TaskHead> createHead)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(createHead);
        RemoveKeyed(typeof(ITaskHeadFactory), name);
        Services.AddKeyedSingleton<ITaskHeadFactory>(name, (sp, _) => new DelegateTaskHeadFactory(layout => createHead(sp, layout)));
        return this;
    }

    /// <summary>
    /// Registers the loss composer <typeparamref name="TComposer"/> under <paramref name="name"/> (see
    /// <see cref="LossComposerServiceCollectionExtensions.AddLossComposer{TComposer, TOptions}(IServiceCollection, string, Func{IServiceProvider, TOptions, TComposer})"/>);
    /// <c>loss:loss_composer = &lt;name&gt;</c> or <see cref="SpatialNetOptions.LossComposer"/> chooses it.
    /// </summary>
    /// <param name="name">The name configuration uses.</param>
    /// <param name="create">Builds the composer from the services and its options.</param>
    /// <param name="configure">Configures its options (after configuration's <c>loss:&lt;name&gt;</c>).</param>
    public SpatialNetBuilder AddLossComposer<TComposer, TOptions>(string name, Func<IServiceProvider, TOptions, TComposer> create,
        Action<TOptions>? configure = null)
        where TComposer : class, ILossComposer
        where TOptions : LossComposerOptions, new()
    {
        var options = LossComposerRegistry.Add(Services, name, create);
        if (configure is not null)
            options.Configure(configure);
        return this;
    }

    /// <summary>Uses <typeparamref name="TComposer"/> (built by <see cref="ActivatorUtilities"/>; it may take the <see cref="TaskCatalog"/>).</summary>
    public SpatialNetBuilder UseLossComposer<TComposer>() where TComposer : class, ILossComposer
    {
        Services.Replace(ServiceDescriptor.Singleton<ILossComposer>(sp => ActivatorUtilities.CreateInstance<TComposer>(sp)));
        return this;
    }

    /// <summary>Uses the loss composer made by <paramref name="create"/>.</summary>
    public SpatialNetBuilder UseLossComposer(Func<IServiceProvider, ILossComposer> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        Services.Replace(ServiceDescriptor.Singleton(create));
        return this;
    }

    /// <summary>Sets the L2 term of Eq. (10–11).</summary>
    /// <param name="lambda">λ_reg ≥ 0 (0 turns it off).</param>
    /// <param name="selection">Parameter selection; null keeps the model's <see cref="SpatialNet.Modules.NoWeightDecay"/> rule (S = what it does not exclude).</param>
    public SpatialNetBuilder UseL2(double lambda, Func<string, Parameter, bool>? selection = null)
    {
        Services.Configure<SpatialNetOptions>(o =>
        {
            o.L2Lambda = lambda;
            o.L2Selection = selection ?? o.L2Selection;
        });
        return this;
    }

    /// <summary>Changes model-wide settings directly.</summary>
    public SpatialNetBuilder Configure(Action<SpatialNetOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
        return this;
    }

    private void RemoveKeyed(Type serviceType, object key)
    {
        for (int i = Services.Count - 1; i >= 0; i--)
        {
            var d = Services[i];
            if (d.ServiceType == serviceType && d.IsKeyedService && Equals(d.ServiceKey, key))
            {
                Services.RemoveAt(i);
            }
        }
    }

    private sealed class DelegateEncoderFactory(Func<IImageEncoder> create) : IImageEncoderFactory
    {
        public TokenLayout? Layout => null;

        public IImageEncoder Create() => create();
    }
}
