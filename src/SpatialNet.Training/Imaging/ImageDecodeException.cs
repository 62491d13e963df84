
namespace SpatialNet.Training.Imaging;

/// <summary>
/// An image file could not be decoded: it is corrupt or truncated, uses a layout or sample format
/// that is not supported, or has a band count or size other than the dataset expects.
/// <see cref="DatasetException.Field"/> names the TIFF tag or image property at fault
/// (e.g. <c>BitsPerSample</c>, <c>SamplesPerPixel</c>, <c>StripByteCounts</c>).
/// </summary>
public sealed class ImageDecodeException : DatasetException
{
    /// <inheritdoc cref="DatasetException(string?, string?, string, Exception?)"/>
    public ImageDecodeException(string filePath, string? field, string detail, Exception? innerException = null)
        : base(filePath, field, detail, innerException) { }
}
