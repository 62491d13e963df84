using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Start-up checks for hosts that do not run the generic host's start-up validation.</summary>
public static class SpatialNetServiceProviderExtensions
{
    /// <summary>
    /// Runs every <c>ValidateOnStart</c> validation (SpatialNet's options included) now, as the generic
    /// host does at start.
    /// </summary>
    /// <exception cref="OptionsValidationException">Some options are invalid; the messages name each option and its allowed values.</exception>
    public static IServiceProvider ValidateSpatialNet(this IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.GetService<IStartupValidator>()?.Validate();
        return services;
    }
}
