using Microsoft.Extensions.Options;
using SpatialNet.Modules;

namespace SpatialNet.DependencyInjection;

/// <summary>
/// Validates <see cref="VisionTransformerOptions"/> with <see cref="VisionTransformerOptions.Validate"/>
/// (image size divisible by the patch, heads dividing D, …), so a bad configuration fails at start.
/// </summary>
internal sealed class VisionTransformerOptionsValidator : IValidateOptions<VisionTransformerOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, VisionTransformerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
