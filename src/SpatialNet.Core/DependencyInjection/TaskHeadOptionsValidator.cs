using Microsoft.Extensions.Options;
using SpatialNet.Heads;
using SpatialNet.Models;

namespace SpatialNet.DependencyInjection;

/// <summary>
/// Validates the named head options of each task (<see cref="TaskHeadOptions.Validate"/>); when the
/// encoder factory knows its token layout, also the checks that depend on D and the class token.
/// </summary>
/// <typeparam name="TOptions">Head options type.</typeparam>
internal sealed class TaskHeadOptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : TaskHeadOptions
{
    private readonly IOptions<SpatialNetOptions> spatialNet;
    private readonly IImageEncoderFactory? encoders;

    /// <summary>Creates the validator.</summary>
    /// <param name="spatialNet">The task list (only registered tasks are validated).</param>
    /// <param name="encoders">Encoder factory, for the token layout (optional).</param>
    public TaskHeadOptionsValidator(IOptions<SpatialNetOptions> spatialNet, IImageEncoderFactory? encoders = null)
    {
        this.spatialNet = spatialNet ?? throw new ArgumentNullException(nameof(spatialNet));
        this.encoders = encoders;
    }

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(name) || !IsTask(name))
        {
            return ValidateOptionsResult.Skip;
        }

        TokenLayout? layout = null;
        try
        {
            layout = encoders?.Layout;
        }
        catch (OptionsValidationException)
        {
            // Invalid encoder options are reported by their own validator; check what does not depend on them.
        }

        var errors = options.Validate(name, layout);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private bool IsTask(string name)
    {
        try
        {
            return spatialNet.Value.Tasks.Any(t => t.Name == name && t.HeadOptionsType == typeof(TOptions));
        }
        catch (OptionsValidationException)
        {
            // The task list itself is invalid (reported by its own validator); still check these options.
            return true;
        }
    }
}
