using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SpatialNet.Heads;
using SpatialNet.Losses;

namespace SpatialNet.DependencyInjection;

/// <summary>
/// One loss composer registered by <c>AddLossComposer</c>: its name as configuration writes it, its options type and
/// how configuration binds them (section <c>loss:&lt;name&gt;</c>). The composer itself is a keyed <see cref="ILossComposer"/> under <see cref="Name"/>.
/// </summary>
internal sealed class LossComposerRegistration(string name, Type optionsType, Func<LossComposerOptions> newOptions,
    Action<IServiceCollection, IConfiguration, string> bindConfiguration, Action<IServiceCollection> register)
{
    /// <summary>The name configuration uses (<c>loss:loss_composer</c>, section <c>loss:&lt;name&gt;</c>); also the options name and the service key.</summary>
    public string Name { get; } = name;

    /// <summary>The composer's options type.</summary>
    public Type OptionsType { get; } = optionsType;

    /// <summary>A new options object with its defaults.</summary>
    public LossComposerOptions NewOptions() => newOptions();

    /// <summary>Configures the composer's named options from <paramref name="section"/> (path <paramref name="path"/> for messages).</summary>
    public void BindConfiguration(IServiceCollection services, IConfiguration section, string path) => bindConfiguration(services, section, path);

    /// <summary>Registers the same composer (name, options type, factory) in <paramref name="services"/>.</summary>
    public void RegisterIn(IServiceCollection services) => register(services);

    /// <summary>Whether configuration's <paramref name="name"/> names this composer (case, <c>_</c> and <c>-</c> ignored).</summary>
    public bool IsNamed(string? name) => name is not null && StrictConfigurationBinder.Normalize(name) == StrictConfigurationBinder.Normalize(Name);
}

/// <summary>The loss composers a service collection registers, found by the names configuration uses.</summary>
internal static class LossComposerRegistry
{
    private static readonly Lazy<IReadOnlyList<LossComposerRegistration>> BuiltInList =
        new(() => Of(AddBuiltIn(new ServiceCollection())));

    // Keys of the settings that moved into each composer's own section.
    private static readonly Dictionary<string, string> MovedKeys = new(StringComparer.Ordinal)
    {
        ["dwatemperature"] = "dwa:temperature",
        ["pcgradseed"] = "pcgrad:seed",
        ["gradnormalpha"] = "gradnorm:alpha",
    };

    /// <summary>The built-in composers (<c>weighted_sum</c>, <c>uncertainty</c>, <c>dwa</c>, <c>pcgrad</c>, <c>gradnorm</c>), as <c>AddSpatialNet</c> registers them.</summary>
    public static IReadOnlyList<LossComposerRegistration> BuiltIn => BuiltInList.Value;

    /// <summary>Registers a composer under <paramref name="name"/> (the body of <c>AddLossComposer</c>); a later registration of a name replaces an earlier one.</summary>
    public static OptionsBuilder<TOptions> Add<TComposer, TOptions>(IServiceCollection services, string name, Func<IServiceProvider, TOptions, TComposer> create)
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
            s => Add(s, name, create)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, LossComposerOptionsValidator<TOptions>>());
        services.AddKeyedSingleton<ILossComposer>(name, (sp, _) => create(sp, sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name)));
        return services.AddOptions<TOptions>(name).ValidateOnStart();
    }

    /// <summary>
    /// The built-in composers, registered as a host registers its own; a name the collection already has keeps
    /// its registration (a host's composer registered before <c>AddSpatialNet</c> stays).
    /// </summary>
    public static IServiceCollection AddBuiltIn(IServiceCollection services)
    {
        (string Name, Action<IServiceCollection> Add)[] builtIn =
        [
            ("weighted_sum", s => Add<WeightedSum, LossComposerOptions>(s, "weighted_sum", (sp, _) => new WeightedSum(sp.GetRequiredService<TaskCatalog>()))),
            ("uncertainty", s => Add<UncertaintyWeighting, UncertaintyWeightingOptions>(s, "uncertainty", (sp, o) => new UncertaintyWeighting(sp.GetRequiredService<TaskCatalog>(), o.InitialLogVariance))),
            ("dwa", s => Add<DynamicWeightAverage, DynamicWeightAverageOptions>(s, "dwa", (_, o) => new DynamicWeightAverage(o.Temperature))),
            ("pcgrad", s => Add<PCGrad, PCGradOptions>(s, "pcgrad", (sp, o) => new PCGrad(sp.GetRequiredService<TaskCatalog>(), o.Seed))),
            ("gradnorm", s => Add<GradNorm, GradNormOptions>(s, "gradnorm", (sp, o) => new GradNorm(sp.GetRequiredService<TaskCatalog>(), o.Alpha, o.Weighting))),
            ("imtl_l", s => Add<ImtlL, LossComposerOptions>(s, "imtl_l", (sp, _) => new ImtlL(sp.GetRequiredService<TaskCatalog>()))),
            ("rlw", s => Add<RandomLossWeighting, RandomLossWeightingOptions>(s, "rlw", (_, o) => new RandomLossWeighting(o.Seed))),
            ("gls", s => Add<GeometricLossStrategy, LossComposerOptions>(s, "gls", (_, _) => new GeometricLossStrategy())),
            ("famo", s => Add<Famo, FamoOptions>(s, "famo", (_, o) => new Famo(o.Lr, o.WeightDecay, o.MinLosses))),
            ("stch", s => Add<SmoothTchebycheff, SmoothTchebycheffOptions>(s, "stch", (_, o) => new SmoothTchebycheff(o.Mu, o.WarmupEpochs))),
            Gradient<UPGradOptions>("upgrad", o => new UPGradAggregator(o.NormEps, o.RegEps)),
            Gradient<DualProjOptions>("dualproj", o => new DualProjAggregator(o.NormEps, o.RegEps)),
            Gradient<MgdaOptions>("mgda", o => new MgdaAggregator(o.Epsilon, o.MaxIters, o.GradientNormalization)),
            Gradient<CaGradOptions>("cagrad", o => new CaGradAggregator(o.C, o.NormEps, o.Rescale)),
            Gradient<GradientStrategyOptions>("imtl_g", _ => new ImtlGAggregator()),
            Gradient<AlignedMtlOptions>("aligned_mtl", o => new AlignedMtlAggregator(o.ScaleMode)),
            Gradient<GradientStrategyOptions>("con_fig", _ => new ConFigAggregator()),
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
            if (Find(Of(services), name) is null)
                add(services);
        }

        return services;
    }

    // A gradient strategy (per-task gradients of the shared parameters combined by the aggregator), λ_t from the task catalog.
    private static (string Name, Action<IServiceCollection> Add) Gradient<TOptions>(string name, Func<TOptions, GradientAggregator> aggregator)
        where TOptions : GradientStrategyOptions, new() =>
        (name, s => Add<GradientComposer, TOptions>(s, name, (sp, o) => new GradientComposer(name, aggregator(o), sp.GetRequiredService<TaskCatalog>(), o.RepGrad)));

    /// <summary>The composers registered in <paramref name="services"/>, in registration order.</summary>
    public static IReadOnlyList<LossComposerRegistration> Of(IServiceCollection services) =>
        [.. services.Where(d => d.ServiceType == typeof(LossComposerRegistration) && !d.IsKeyedService)
            .Select(d => (LossComposerRegistration)d.ImplementationInstance!)];

    /// <summary>The registration configuration's <paramref name="name"/> names, or null.</summary>
    public static LossComposerRegistration? Find(IEnumerable<LossComposerRegistration> composers, string? name) =>
        composers.LastOrDefault(c => c.IsNamed(name));

    /// <summary>The registered names, for messages.</summary>
    public static string Names(IEnumerable<LossComposerRegistration> composers) => string.Join(", ", composers.Select(c => c.Name));

    /// <summary>
    /// Binds the <c>loss</c> section: <see cref="SpatialNetOptions"/> (<c>loss_composer</c>, <c>l2_lambda</c>) onto
    /// <paramref name="target"/>, and each composer's own section <c>loss:&lt;name&gt;</c> onto a new options object
    /// of its type, validated. Adds a problem for a composer name that is not registered (listing those that are),
    /// for a setting that moved into a composer's section (naming the new key) and for every unknown key or invalid value.
    /// </summary>
    /// <returns>The composer sections found, with their registrations, for the caller to register.</returns>
    public static IReadOnlyList<(LossComposerRegistration Composer, IConfigurationSection Section)> Bind(IConfiguration loss, SpatialNetOptions target,
        IReadOnlyList<LossComposerRegistration> composers, string path, ICollection<string> problems)
    {
        var skip = new HashSet<string>(StringComparer.Ordinal) { "tasks" };
        var sections = new List<(LossComposerRegistration, IConfigurationSection)>();
        foreach (var child in loss.GetChildren())
        {
            var key = StrictConfigurationBinder.Normalize(child.Key);
            if (MovedKeys.TryGetValue(key, out var moved))
            {
                problems.Add($"{path}:{child.Key}: moved; write {path}:{moved} (each loss composer reads its own section {path}:<name>).");
                skip.Add(key);
            }
            else if (Find(composers, child.Key) is { } composer)
            {
                skip.Add(key);
                var at = $"{path}:{child.Key}";
                var options = composer.NewOptions();
                int before = problems.Count;
                StrictConfigurationBinder.Bind(child, options, at, problems);
                if (problems.Count == before)
                {
                    foreach (var e in options.Validate(composer.Name))
                        problems.Add(e);
                }
                sections.Add((composer, child));
            }
        }

        StrictConfigurationBinder.Bind(loss, target, path, problems, skip);
        if (Find(composers, target.LossComposer) is null)
            problems.Add($"{path}:loss_composer = \"{target.LossComposer}\": allowed {Names(composers)} (the registered loss composers).");
        return sections;
    }
}

/// <summary>Validates a composer's named options (<see cref="LossComposerOptions.Validate"/>); other names of the type are skipped.</summary>
/// <typeparam name="TOptions">The composer's options type.</typeparam>
internal sealed class LossComposerOptionsValidator<TOptions>(IEnumerable<LossComposerRegistration> composers) : IValidateOptions<TOptions>
    where TOptions : LossComposerOptions
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (name is null || !composers.Any(c => c.Name == name && c.OptionsType == typeof(TOptions)))
            return ValidateOptionsResult.Skip;
        var errors = options.Validate(name);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
