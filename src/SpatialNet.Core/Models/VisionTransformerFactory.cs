using Microsoft.Extensions.Options;
using SpatialNet.Heads;
using SpatialNet.Modules;

namespace SpatialNet.Models;

/// <summary>The default encoder factory: a <see cref="VisionTransformer"/> with the configured <see cref="VisionTransformerOptions"/>.</summary>
public sealed class VisionTransformerFactory : IImageEncoderFactory
{
    private readonly IOptions<VisionTransformerOptions> options;

    /// <summary>Creates the factory.</summary>
    public VisionTransformerFactory(IOptions<VisionTransformerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options;
    }

    /// <inheritdoc />
    public TokenLayout? Layout
    {
        get
        {
            var o = options.Value;
            return new TokenLayout(o.EmbedDim, o.ClassToken ? 1 : 0);
        }
    }

    /// <inheritdoc />
    public IImageEncoder Create() => new VisionTransformer(options.Value);
}
