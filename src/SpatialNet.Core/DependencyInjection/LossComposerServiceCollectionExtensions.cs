using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Losses;
using SpatialNet.Losses.Gradients;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers loss composers by the name configuration chooses them with (<c>loss:loss_composer</c>).</summary>
public static class LossComposerServiceCollectionExtensions
{
    /// <summary>
    /// Registers the loss composer <typeparamref name="TComposer"/> under <paramref name="name"/>: a keyed
    /// <see cref="ILossComposer"/> (key = <paramref name="name"/>) made by <paramref name="create"/> from its named
    /// options <typeparamref name="TOptions"/> (options name = <paramref name="name"/>; configuration binds them from
    /// <c>loss:&lt;name&gt;</c>; <see cref="LossComposerOptions.Validate"/> runs at start). <c>loss:loss_composer = &lt;name&gt;</c>
    /// (or <see cref="SpatialNetOptions.LossComposer"/>) chooses it. A later registration of the same name replaces an earlier one.
    /// </summary>
    /// <typeparam name="TComposer">The composer.</typeparam>
    /// <typeparam name="TOptions">Its options (<see cref="LossComposerOptions"/> itself when it has none).</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The name configuration uses: letters, digits and <c>_</c>.</param>
    /// <param name="create">Builds the composer from the services (e.g. the <see cref="TaskCatalog"/>) and its options.</param>
    /// <returns>The builder of the composer's named options, to configure them further.</returns>
    public static OptionsBuilder<TOptions> AddLossComposer<TComposer, TOptions>(this IServiceCollection services, string name,
        Func<IServiceProvider, TOptions, TComposer> create)
        where TComposer : class, ILossComposer
        where TOptions : LossComposerOptions, new()
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(create);
        if (string.IsNullOrEmpty(name) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new ArgumentException($"Loss composer name '{name}' is not allowed; allowed: letters, digits and '_'.", nameof(name));

        var existing = LossComposerRegistry.Find(LossComposerRegistry.Of(services), name);
        for (int i = services.Count - 1; existing is not null && i >= 0; i--)
        {
            var d = services[i];
            if ((d.ServiceType == typeof(LossComposerRegistration) && !d.IsKeyedService && ReferenceEquals(d.ImplementationInstance, existing))
                || (d.ServiceType == typeof(ILossComposer) && d.IsKeyedService && Equals(d.ServiceKey, existing.Name)))
                services.RemoveAt(i);
        }

        services.AddSingleton(new LossComposerRegistration(name, typeof(TOptions), () => new TOptions(),
            (s, section, path) => s.AddOptions<TOptions>(name).Configure(o => StrictConfigurationBinder.Bind(section, o, path)),
            s => s.AddLossComposer(name, create)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, LossComposerOptionsValidator<TOptions>>());
        services.AddKeyedSingleton<ILossComposer>(name, (sp, _) => create(sp, sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name)));
        return services.AddOptions<TOptions>(name).ValidateOnStart();
    }

    /// <summary>
    /// Registers <typeparamref name="TComposer"/> under <paramref name="name"/> as
    /// <see cref="AddLossComposer{TComposer, TOptions}(IServiceCollection, string, Func{IServiceProvider, TOptions, TComposer})"/> does,
    /// built by <see cref="ActivatorUtilities"/> (its constructor may take its options and any service, e.g. the <see cref="TaskCatalog"/>).
    /// </summary>
    /// <typeparam name="TComposer">The composer.</typeparam>
    /// <typeparam name="TOptions">Its options.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The name configuration uses.</param>
    /// <returns>The builder of the composer's named options.</returns>
    public static OptionsBuilder<TOptions> AddLossComposer<TComposer, TOptions>(this IServiceCollection services, string name)
        where TComposer : class, ILossComposer
        where TOptions : LossComposerOptions, new() =>
        services.AddLossComposer<TComposer, TOptions>(name, (sp, o) => ActivatorUtilities.CreateInstance<TComposer>(sp, o));

    /// <summary>
    /// The built-in composers, registered as a host registers its own; a name the collection already has keeps
    /// its registration (a host's composer registered before <c>AddSpatialNet</c> stays).
    /// </summary>
    internal static IServiceCollection AddBuiltInLossComposers(this IServiceCollection services)
    {
        (string Name, Action<IServiceCollection> Add)[] builtIn =
        [
            ("weighted_sum", s => s.AddLossComposer<WeightedSum, LossComposerOptions>("weighted_sum", (sp, _) => new WeightedSum(sp.GetRequiredService<TaskCatalog>()))),
            ("uncertainty", s => s.AddLossComposer<UncertaintyWeighting, UncertaintyWeightingOptions>("uncertainty", (sp, o) => new UncertaintyWeighting(sp.GetRequiredService<TaskCatalog>(), o.InitialLogVariance))),
            ("dwa", s => s.AddLossComposer<DynamicWeightAverage, DynamicWeightAverageOptions>("dwa", (_, o) => new DynamicWeightAverage(o.Temperature))),
            ("pcgrad", s => s.AddLossComposer<PCGrad, PCGradOptions>("pcgrad", (sp, o) => new PCGrad(sp.GetRequiredService<TaskCatalog>(), o.Seed))),
            ("gradnorm", s => s.AddLossComposer<GradNorm, GradNormOptions>("gradnorm", (sp, o) => new GradNorm(sp.GetRequiredService<TaskCatalog>(), o.Alpha, o.Weighting))),
            ("imtl_l", s => s.AddLossComposer<ImtlL, LossComposerOptions>("imtl_l", (sp, _) => new ImtlL(sp.GetRequiredService<TaskCatalog>()))),
            ("rlw", s => s.AddLossComposer<RandomLossWeighting, RandomLossWeightingOptions>("rlw", (_, o) => new RandomLossWeighting(o.Seed))),
            ("gls", s => s.AddLossComposer<GeometricLossStrategy, LossComposerOptions>("gls", (_, _) => new GeometricLossStrategy())),
            ("famo", s => s.AddLossComposer<Famo, FamoOptions>("famo", (_, o) => new Famo(o.Lr, o.WeightDecay, o.MinLosses))),
            ("stch", s => s.AddLossComposer<SmoothTchebycheff, SmoothTchebycheffOptions>("stch", (_, o) => new SmoothTchebycheff(o.Mu, o.WarmupEpochs))),
            Gradient<UPGradOptions>("upgrad", o => new UPGradAggregator(o.NormEps, o.RegEps)),
            Gradient<DualProjOptions>("dualproj", o => new DualProjAggregator(o.NormEps, o.RegEps)),
            Gradient<MgdaOptions>("mgda", o => new MgdaAggregator(o.Epsilon, o.MaxIters, o.GradientNormalization)),
            Gradient<CaGradOptions>("cagrad", o => new CaGradAggregator(o.C, o.NormEps, o.Rescale)),
            Gradient<LossComposerOptions>("imtl_g", _ => new ImtlGAggregator()),
            Gradient<AlignedMtlOptions>("aligned_mtl", o => new AlignedMtlAggregator(o.ScaleMode)),
            Gradient<LossComposerOptions>("con_fig", _ => new ConFigAggregator()),
            Gradient<GradVacOptions>("gradvac", o => new GradVacAggregator(o.Beta, o.Eps, o.Seed)),
            Gradient<FairGradOptions>("fairgrad", o => new FairGradAggregator(o.Alpha)),
            Gradient<NashMtlOptions>("nash_mtl", o => new NashMtlAggregator(o.MaxNorm, o.UpdateWeightsEvery, o.OptimNiter)),
            Gradient<ExcessMtlOptions>("excess_mtl", o => new ExcessMtlAggregator(o.RobustStepSize, o.NWarmupSteps)),
            Gradient<GradDropOptions>("graddrop", o => new GradDropAggregator(o.Leak, o.Seed)),
            Gradient<MocoOptions>("moco", o => new MocoAggregator(o.Beta, o.BetaSigma, o.Gamma, o.GammaSigma, o.Rho)),
            Gradient<DbMtlOptions>("db_mtl", o => new DbMtlAggregator(o.Beta, o.BetaSigma)),
        ];
        foreach (var (name, add) in builtIn)
        {
            if (LossComposerRegistry.Find(LossComposerRegistry.Of(services), name) is null)
                add(services);
        }

        return services;
    }

    // A gradient strategy (per-task gradients of the shared parameters combined by the aggregator), λ_t from the task catalog.
    private static (string Name, Action<IServiceCollection> Add) Gradient<TOptions>(string name, Func<TOptions, GradientAggregator> aggregator)
        where TOptions : LossComposerOptions, new() =>
        (name, s => s.AddLossComposer<GradientComposer, TOptions>(name, (sp, o) => new GradientComposer(name, aggregator(o), sp.GetRequiredService<TaskCatalog>())));
}
