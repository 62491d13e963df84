using SpatialNet.Heads;
using SpatialNet.Modules;

namespace SpatialNet.Models;

/// <summary>Creates the shared image encoder of a model. Register another implementation to replace the Vision Transformer.</summary>
public interface IImageEncoderFactory
{
    /// <summary>
    /// Token layout of the encoders <see cref="Create"/> makes, when known without building one
    /// (lets validation at start check heads against D); null when unknown.
    /// </summary>
    TokenLayout? Layout { get; }

    /// <summary>A new encoder with freshly initialised weights.</summary>
    IImageEncoder Create();
}
