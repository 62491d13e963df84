using System.Globalization;

namespace SpatialNet.Losses;

/// <summary>
/// Settings of a loss composer, bound from the configuration section <c>loss:&lt;name&gt;</c> (named options:
/// the options name is the composer's registered name). This base has no settings: the composers that need
/// none (<see cref="WeightedSum"/>, <see cref="UncertaintyWeighting"/>) use it as it is; others derive from it
/// and check their values in <see cref="CollectErrors"/>.
/// </summary>
public class LossComposerOptions
{
    /// <summary>Every problem with these settings, each naming its key <c>loss:&lt;name&gt;:&lt;option&gt;</c>, the value and what is allowed; empty when valid.</summary>
    /// <param name="composerName">The composer's registered name (used in the messages).</param>
    public IReadOnlyList<string> Validate(string composerName)
    {
        ArgumentNullException.ThrowIfNull(composerName);
        var errors = new List<string>();
        CollectErrors(errors);
        return [.. errors.Select(e => $"loss:{composerName}:{e}")];
    }

    /// <summary>Adds one message per invalid setting, each made by <see cref="Message"/>.</summary>
    /// <param name="errors">Receives the messages.</param>
    protected virtual void CollectErrors(ICollection<string> errors)
    {
    }

    /// <summary>A message naming an option as configuration writes it, its value and what is allowed.</summary>
    /// <param name="option">The property name (<c>Temperature</c> is written <c>temperature</c>).</param>
    /// <param name="value">The value found.</param>
    /// <param name="allowed">What is allowed.</param>
    protected static string Message(string option, object? value, string allowed) =>
        string.Create(CultureInfo.InvariantCulture, $"{SnakeCase(option)} = {value}: allowed {allowed}.");

    // A property name as configuration writes it (Temperature → temperature, GradNormAlpha → grad_norm_alpha).
    private static string SnakeCase(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
