using Microsoft.Extensions.Options;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Losses;

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
        where TOptions : LossComposerOptions, new() =>
        LossComposerRegistry.Add(services, name, create);

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
}
