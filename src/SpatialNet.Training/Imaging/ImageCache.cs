using SpatialNet.IO;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace SpatialNet.Training.Imaging;

/// <summary>
/// Decodes each image file once into an 8-bit <c>[C, H, W]</c> array (after band selection, 16-bit
/// scaling and the optional fixed size of <see cref="ImageLoadOptions"/>) and keeps it in memory, up to
/// a byte budget; optionally also on disk, so that a later process skips decoding. Thread-safe.
/// Disk entries are keyed by the file's full path, length, modification time and the load options,
/// so a changed file or option is decoded again.
/// </summary>
public sealed class ImageCache
{
    private const uint DiskMagic = 0x38554E53; // "SNU8"
    private readonly ConcurrentDictionary<string, RasterImage> _memory = new(StringComparer.Ordinal);
    private long _memoryBytes;

    /// <summary>Creates a cache.</summary>
    /// <param name="options">Load options (default: keep all bands, full-range 16-bit scaling, no resize).</param>
    /// <param name="diskDirectory">Folder for the on-disk cache, or null for memory only.</param>
    /// <param name="maxMemoryBytes">Images beyond this many cached bytes are decoded (or read from disk) on every access. Default 4 GiB.</param>
    public ImageCache(ImageLoadOptions? options = null, string? diskDirectory = null, long maxMemoryBytes = 4L << 30)
    {
        Options = options ?? new ImageLoadOptions();
        Options.Validate();
        if (maxMemoryBytes < 0) throw new ArgumentOutOfRangeException(nameof(maxMemoryBytes), "maxMemoryBytes must not be negative.");
        DiskDirectory = diskDirectory;
        MaxMemoryBytes = maxMemoryBytes;
        if (diskDirectory is not null) Directory.CreateDirectory(diskDirectory);
    }

    /// <summary>The load options every cached image went through.</summary>
    public ImageLoadOptions Options { get; }

    /// <summary>The on-disk cache folder, or null.</summary>
    public string? DiskDirectory { get; }

    /// <summary>The in-memory budget in bytes.</summary>
    public long MaxMemoryBytes { get; }

    /// <summary>Bytes of pixel data held in memory.</summary>
    public long MemoryBytes => Interlocked.Read(ref _memoryBytes);

    /// <summary>Number of images held in memory.</summary>
    public int Count => _memory.Count;

    /// <summary>Returns the 8-bit image for a file, decoding it on first use.</summary>
    /// <exception cref="SpatialNet.DatasetFileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ImageDecodeException">The file cannot be decoded or has the wrong band count.</exception>
    public RasterImage Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var key = Path.GetFullPath(path);
        if (_memory.TryGetValue(key, out var cached)) return cached;
        var image = (DiskDirectory is null ? null : ReadDisk(key)) ?? Prepare(ImageDecoder.Decode(key), key, Options);
        if (DiskDirectory is not null) WriteDisk(key, image);
        if (Interlocked.Add(ref _memoryBytes, image.SampleCount) <= MaxMemoryBytes && _memory.TryAdd(key, image))
            return image;
        Interlocked.Add(ref _memoryBytes, -image.SampleCount);
        return _memory.TryGetValue(key, out var raced) ? raced : image;
    }

    /// <summary>Drops every in-memory image (disk entries stay).</summary>
    public void Clear()
    {
        _memory.Clear();
        Interlocked.Exchange(ref _memoryBytes, 0);
    }

    /// <summary>Applies band selection, the band check, 16-bit scaling and resizing to a decoded image.</summary>
    /// <exception cref="ImageDecodeException">A selected band does not exist, or the band count is not the expected one.</exception>
    public static RasterImage Prepare(RasterImage decoded, string path, ImageLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(decoded);
        ArgumentNullException.ThrowIfNull(options);
        var image = decoded;
        if (options.SelectBands is { } bands)
        {
            var bad = bands.FirstOrDefault(b => b < 0 || b >= image.Channels, -1);
            if (bands.Any(b => b < 0 || b >= image.Channels))
                throw new ImageDecodeException(path, "SamplesPerPixel", $"band {bad} was selected but the image has {image.Channels} bands (0–{image.Channels - 1}).");
            image = SelectBands(image, bands);
        }
        if (options.ExpectedBands is { } expected && image.Channels != expected)
            throw new ImageDecodeException(path, "SamplesPerPixel", $"the image has {image.Channels} bands; the dataset expects {expected}.");
        image = image.ToUInt8(options.Scaling);
        if (options.Height is { } h && options.Width is { } w) image = ImageResampler.Resize(image, h, w);
        return image;
    }

    private static RasterImage SelectBands(RasterImage image, IReadOnlyList<int> bands)
    {
        var plane = image.Height * image.Width;
        if (image.Pixels8 is { } p8)
        {
            var result = new byte[bands.Count * plane];
            for (var i = 0; i < bands.Count; i++) Array.Copy(p8, bands[i] * plane, result, i * plane, plane);
            return RasterImage.FromBytes(result, bands.Count, image.Height, image.Width);
        }
        var p16 = image.Pixels16!;
        var words = new ushort[bands.Count * plane];
        for (var i = 0; i < bands.Count; i++) Array.Copy(p16, bands[i] * plane, words, i * plane, plane);
        return RasterImage.FromUInt16(words, bands.Count, image.Height, image.Width);
    }

    private string DiskPath(string fullPath)
    {
        var info = new FileInfo(fullPath);
        var identity = $"{fullPath}|{(info.Exists ? info.Length : -1)}|{(info.Exists ? info.LastWriteTimeUtc.Ticks : 0)}|{Options.Fingerprint}";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)));
        return Path.Combine(DiskDirectory!, hash + ".u8");
    }

    private RasterImage? ReadDisk(string fullPath)
    {
        var file = DiskPath(fullPath);
        if (!File.Exists(file)) return null;
        try
        {
            var bytes = File.ReadAllBytes(file);
            if (bytes.Length < 16 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != DiskMagic) return null;
            var c = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
            var h = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
            var w = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
            if (c <= 0 || h <= 0 || w <= 0 || bytes.Length - 16 != (long)c * h * w) return null;
            return RasterImage.FromBytes(bytes[16..], c, h, w);
        }
        catch (IOException)
        {
            return null; // a damaged or concurrently written entry: decode again
        }
    }

    private void WriteDisk(string fullPath, RasterImage image)
    {
        var file = DiskPath(fullPath);
        if (File.Exists(file)) return;
        var bytes = new byte[16 + image.SampleCount];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, DiskMagic);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), image.Channels);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), image.Height);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), image.Width);
        image.Pixels8!.CopyTo(bytes, 16);
        // Write then rename, so a reader never sees a half-written entry.
        AtomicFile.Write(file, s => s.Write(bytes), removeStale: false);
    }
}
