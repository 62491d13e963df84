using SpatialNet.IO;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace SpatialNet.Training.Imaging;

/// <summary>
/// Decodes each image file once into a <c>[C, H, W]</c> array, 8-bit or, with <see cref="ImageLoadOptions.NativePrecision"/>,
/// at the file's own precision (after band selection, 16-bit scaling and the optional fixed size of <see cref="ImageLoadOptions"/>) and keeps it in memory, up to
/// a byte budget; optionally also on disk, so that a later process skips decoding. Thread-safe.
/// Disk entries are keyed by the file's full path, length, modification time and the load options,
/// so a changed file or option is decoded again.
/// </summary>
public sealed class ImageCache
{
    private const uint DiskMagic = 0x38554E53; // "SNU8"
    private const uint DiskMagic16 = 0x36314E53; // "SN16": 16-bit samples, little-endian
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

    /// <summary>Returns the prepared image of a file (8-bit unless <see cref="ImageLoadOptions.NativePrecision"/>), decoding it on first use.</summary>
    /// <exception cref="SpatialNet.DatasetFileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ImageDecodeException">The file cannot be decoded or has the wrong band count.</exception>
    public RasterImage Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var key = Path.GetFullPath(path);
        if (_memory.TryGetValue(key, out var cached)) return cached;
        var image = (DiskDirectory is null ? null : ReadDisk(key)) ?? Prepare(ImageDecoder.Decode(key), key, Options);
        if (DiskDirectory is not null) WriteDisk(key, image);
        var bytes = image.SampleCount * (image.BitsPerSample / 8);
        if (Interlocked.Add(ref _memoryBytes, bytes) <= MaxMemoryBytes && _memory.TryAdd(key, image))
            return image;
        Interlocked.Add(ref _memoryBytes, -bytes);
        return _memory.TryGetValue(key, out var raced) ? raced : image;
    }

    /// <summary>
    /// The image as a dataset's <c>image</c> tensor <c>[C, H, W]</c>: uint8 for an 8-bit image without an input range
    /// (or without <see cref="ImageLoadOptions.NativePrecision"/>), otherwise float32 in [0, 1] through the options'
    /// <see cref="ImageLoadOptions.InputRange"/> (<see cref="RasterImage.ToUnitValues"/>).
    /// </summary>
    /// <exception cref="SpatialNet.DatasetFileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ImageDecodeException">The file cannot be decoded or has the wrong band count.</exception>
    public TorchSharp.torch.Tensor LoadTensor(string path)
    {
        var image = Load(path);
        if (!Options.NativePrecision || (image.Pixels8 is not null && Options.InputRange is null))
            return image.ToTensor();
        return TorchSharp.torch.tensor(image.ToUnitValues(Options.InputRange), [image.Channels, image.Height, image.Width]);
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
        if (!options.NativePrecision)
            image = image.ToUInt8(options.Scaling);
        if (options.InputRange is { Count: not 1 } range && range.Count != image.Channels)
            throw new ImageDecodeException(path, "SamplesPerPixel", $"the input range has {range.Count} [low, high] pairs for {image.Channels} bands; give one pair or one per band.");
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
            if (bytes.Length < 16) return null;
            var c = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
            var h = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
            var w = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
            if (c <= 0 || h <= 0 || w <= 0) return null;
            var magic = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
            if (magic == DiskMagic16 && bytes.Length - 16 == 2L * c * h * w)
            {
                var words = new ushort[(long)c * h * w];
                for (var i = 0; i < words.Length; i++) words[i] = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(16 + 2 * i));
                return RasterImage.FromUInt16(words, c, h, w);
            }
            if (magic != DiskMagic || bytes.Length - 16 != (long)c * h * w) return null;
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
        var bytes = new byte[16 + image.SampleCount * (image.BitsPerSample / 8)];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, image.Pixels8 is not null ? DiskMagic : DiskMagic16);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), image.Channels);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), image.Height);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), image.Width);
        if (image.Pixels8 is { } p8)
            p8.CopyTo(bytes, 16);
        else
            for (var i = 0; i < image.Pixels16!.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(16 + 2 * i), image.Pixels16[i]);
        // Write then rename, so a reader never sees a half-written entry.
        AtomicFile.Write(file, s => s.Write(bytes), removeStale: false);
    }
}
