using SpatialNet.IO;
using System.Globalization;
using System.Runtime.InteropServices;
using BitMiracle.LibTiff.Classic;

namespace SpatialNet.Training.Imaging;

/// <summary>How <see cref="TiffImageCodec.Write(string, RasterImage, TiffWriteOptions?)"/> lays out a file.</summary>
internal sealed record TiffWriteOptions
{
    /// <summary>Write tiles of <see cref="TileSize"/>² instead of strips.</summary>
    public bool Tiled { get; init; }

    /// <summary>Tile edge in pixels (a multiple of 16, as TIFF requires). Default 16.</summary>
    public int TileSize { get; init; } = 16;

    /// <summary>Rows per strip when writing strips; 0 (default) writes one strip per 8 KiB or so.</summary>
    public int RowsPerStrip { get; init; }

    /// <summary>Band-interleaved (planar, PlanarConfiguration = 2) instead of pixel-interleaved.</summary>
    public bool Planar { get; init; }

    /// <summary>Compression scheme (default none).</summary>
    public Compression Compression { get; init; } = Compression.NONE;
}

/// <summary>
/// Reads and writes TIFF (and GeoTIFF, whose geo tags are ignored here; <see cref="GeoTiffReader"/> reads
/// scenes with them) through BitMiracle.LibTiff.NET, decoding strips and tiles with the same block
/// reader as <see cref="GeoTiffReader"/>. Reads 8- and 16-bit unsigned samples, any number of bands, strips or tiles, pixel-interleaved
/// (contiguous) or band-interleaved (planar), any compression LibTiff decodes; palette images are
/// expanded to RGB, MinIsWhite is inverted, JPEG-compressed YCbCr is converted to RGB. Only the first
/// image (directory) of a multi-page file is read. Errors become <see cref="ImageDecodeException"/>
/// naming the file and the TIFF tag at fault; LibTiff's own console messages are captured, not printed.
/// </summary>
internal static class TiffImageCodec
{
    private static readonly CapturingErrorHandler Handler = InstallHandler();

    /// <summary>Decodes the first image of a TIFF file.</summary>
    /// <exception cref="SpatialNet.DatasetFileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ImageDecodeException">The file is not a readable TIFF, is truncated, or is unsupported.</exception>
    public static RasterImage Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new SpatialNet.DatasetFileNotFoundException(path, null, "image file not found.");
        return Read(File.ReadAllBytes(path), path);
    }

    /// <summary>Decodes the first image of TIFF bytes; <paramref name="name"/> is used in error messages.</summary>
    /// <exception cref="ImageDecodeException">The bytes are not a readable TIFF, are truncated, or are unsupported.</exception>
    public static RasterImage Read(byte[] data, string name)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var stream = new MemoryStream(data, writable: false);
        return Handler.Capture(name, errors =>
        {
            using var tif = Tiff.ClientOpen(name, "r", stream, new TiffStream())
                ?? throw Fail(name, "header", "not a readable TIFF file", errors);
            return Decode(tif, name, errors);
        });
    }

    /// <summary>Writes an image as an uncompressed (or <see cref="TiffWriteOptions.Compression"/>) TIFF.
    /// 3-band images are tagged RGB, others MinIsBlack with the extra bands unspecified. The output is a
    /// pure function of the image and options (no timestamps), so equal images give equal bytes.</summary>
    public static void Write(string path, RasterImage image, TiffWriteOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = Encode(image, options);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>Encodes an image as TIFF bytes (see <see cref="Write"/>).</summary>
    public static byte[] Encode(RasterImage image, TiffWriteOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        options ??= new TiffWriteOptions();
        if (options.Tiled && (options.TileSize <= 0 || options.TileSize % 16 != 0))
            throw new ArgumentOutOfRangeException(nameof(options), $"TiffWriteOptions.TileSize must be a positive multiple of 16; got {options.TileSize}.");
        using var stream = new MemoryStream();
        Handler.Capture("(memory)", errors =>
        {
            using (var tif = Tiff.ClientOpen("(memory)", "w", stream, new TiffStream())
                ?? throw Fail("(memory)", null, "LibTiff could not create a TIFF stream", errors))
            {
                WriteImage(tif, image, options);
            }
            return 0;
        });
        return stream.ToArray();
    }

    private static RasterImage Decode(Tiff tif, string name, List<string> errors)
    {
        var width = Required(tif, TiffTag.IMAGEWIDTH, name, errors);
        var height = Required(tif, TiffTag.IMAGELENGTH, name, errors);
        if (width <= 0 || height <= 0) throw Fail(name, "ImageWidth", $"image size {width}×{height} is not positive", errors);
        var spp = Defaulted(tif, TiffTag.SAMPLESPERPIXEL, 1);
        var bps = Defaulted(tif, TiffTag.BITSPERSAMPLE, 1);
        var sampleFormat = (SampleFormat)Defaulted(tif, TiffTag.SAMPLEFORMAT, (int)SampleFormat.UINT);
        var planar = (PlanarConfig)Defaulted(tif, TiffTag.PLANARCONFIG, (int)PlanarConfig.CONTIG);
        var compression = (Compression)Defaulted(tif, TiffTag.COMPRESSION, (int)Compression.NONE);
        var photometricField = tif.GetField(TiffTag.PHOTOMETRIC);
        var photometric = photometricField is null
            ? (spp >= 3 ? Photometric.RGB : Photometric.MINISBLACK)
            : (Photometric)photometricField[0].ToInt();

        if (spp <= 0) throw Fail(name, "SamplesPerPixel", $"{spp} bands; at least one is needed", errors);
        if (bps != 8 && bps != 16)
            throw Fail(name, "BitsPerSample", $"{bps} bits per sample is not supported; allowed: 8, 16", errors);
        if (sampleFormat != SampleFormat.UINT)
            throw Fail(name, "SampleFormat", $"sample format {sampleFormat} is not supported; allowed: UINT (unsigned integer)", errors);
        if (photometric == Photometric.YCBCR)
        {
            // JPEG-in-TIFF stores YCbCr; LibTiff's JPEG codec converts to RGB on request.
            if (compression != Compression.JPEG)
                throw Fail(name, "PhotometricInterpretation", "uncompressed or non-JPEG YCbCr is not supported", errors);
            tif.SetField(TiffTag.JPEGCOLORMODE, JpegColorMode.RGB);
        }
        if (photometric is not (Photometric.MINISBLACK or Photometric.MINISWHITE or Photometric.RGB
            or Photometric.YCBCR or Photometric.PALETTE or Photometric.SEPARATED))
            throw Fail(name, "PhotometricInterpretation", $"{photometric} is not supported; allowed: MinIsBlack, MinIsWhite, RGB, Palette, YCbCr (JPEG), Separated", errors);

        var bytesPerSample = bps / 8;
        var plane = (long)width * height;
        var raw = new byte[checked(plane * spp * bytesPerSample)];
        var blocks = new TiffBlockReader(tif, name, width, height, spp, bytesPerSample, planar);
        var planeBytes = plane * blocks.PixelBytes;
        for (var p = 0; p < blocks.Planes; p++)
            blocks.ReadRegion(p, 0, 0, width, height, raw, p * planeBytes, (long)width * blocks.PixelBytes);

        RasterImage image;
        if (bps == 8)
        {
            var pixels = planar == PlanarConfig.SEPARATE ? raw : Deinterleave(raw, spp, (int)plane);
            if (photometric == Photometric.MINISWHITE) for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)(255 - pixels[i]);
            image = RasterImage.FromBytes(pixels, spp, height, width);
        }
        else
        {
            // LibTiff has already swapped the decoded samples to host byte order.
            var words = MemoryMarshal.Cast<byte, ushort>(raw).ToArray();
            var pixels = planar == PlanarConfig.SEPARATE ? words : Deinterleave(words, spp, (int)plane);
            if (photometric == Photometric.MINISWHITE) for (var i = 0; i < pixels.Length; i++) pixels[i] = (ushort)(65535 - pixels[i]);
            image = RasterImage.FromUInt16(pixels, spp, height, width);
        }
        return photometric == Photometric.PALETTE ? ExpandPalette(tif, image, name, errors) : image;
    }

    private static T[] Deinterleave<T>(T[] interleaved, int channels, int plane)
    {
        if (channels == 1) return interleaved;
        var planar = new T[interleaved.Length];
        for (var i = 0; i < plane; i++)
        {
            var source = i * channels;
            for (var c = 0; c < channels; c++) planar[c * plane + i] = interleaved[source + c];
        }
        return planar;
    }

    private static RasterImage ExpandPalette(Tiff tif, RasterImage indexed, string name, List<string> errors)
    {
        if (indexed.Channels != 1) throw Fail(name, "SamplesPerPixel", $"a palette image must have 1 band; found {indexed.Channels}", errors);
        var map = tif.GetField(TiffTag.COLORMAP) ?? throw Fail(name, "ColorMap", "palette image without a ColorMap", errors);
        var r = map[0].ToUShortArray();
        var g = map[1].ToUShortArray();
        var b = map[2].ToUShortArray();
        // TIFF colour maps are 16-bit; some old writers stored 8-bit values, which LibTiff's own RGBA
        // reader detects the same way: no entry above 255.
        var eightBitMap = r.Concat(g).Concat(b).All(v => v < 256);
        var plane = indexed.Height * indexed.Width;
        var rgb = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
        {
            var index = indexed[0, i / indexed.Width, i % indexed.Width];
            if (index >= r.Length) throw Fail(name, "ColorMap", $"pixel index {index} exceeds the {r.Length}-entry colour map", errors);
            rgb[i] = Scale(r[index]);
            rgb[plane + i] = Scale(g[index]);
            rgb[2 * plane + i] = Scale(b[index]);
        }
        return RasterImage.FromBytes(rgb, 3, indexed.Height, indexed.Width);
        byte Scale(ushort v) => eightBitMap ? (byte)v : (byte)(v >> 8);
    }

    private static void WriteImage(Tiff tif, RasterImage image, TiffWriteOptions options)
    {
        int c = image.Channels, h = image.Height, w = image.Width;
        var bytesPerSample = image.BitsPerSample / 8;
        tif.SetField(TiffTag.IMAGEWIDTH, w);
        tif.SetField(TiffTag.IMAGELENGTH, h);
        tif.SetField(TiffTag.SAMPLESPERPIXEL, c);
        tif.SetField(TiffTag.BITSPERSAMPLE, image.BitsPerSample);
        tif.SetField(TiffTag.SAMPLEFORMAT, SampleFormat.UINT);
        tif.SetField(TiffTag.PHOTOMETRIC, c == 3 ? Photometric.RGB : Photometric.MINISBLACK);
        if (c > 1 && c != 3)
            tif.SetField(TiffTag.EXTRASAMPLES, (short)(c - 1), Enumerable.Repeat((short)ExtraSample.UNSPECIFIED, c - 1).ToArray());
        tif.SetField(TiffTag.PLANARCONFIG, options.Planar ? PlanarConfig.SEPARATE : PlanarConfig.CONTIG);
        tif.SetField(TiffTag.COMPRESSION, options.Compression);

        // Source bytes in [C,H,W] order, host byte order (LibTiff writes host order and tags it).
        var planarBytes = image.Pixels8 ?? MemoryMarshal.AsBytes(image.Pixels16.AsSpan()).ToArray();
        var planes = options.Planar ? c : 1;
        var pixelBytes = bytesPerSample * (options.Planar ? 1 : c);
        var layout = options.Planar ? planarBytes : Interleave(planarBytes, c, h * w, bytesPerSample);
        var rowBytes = w * pixelBytes;
        var planeBytes = rowBytes * h;

        if (options.Tiled)
        {
            var t = options.TileSize;
            tif.SetField(TiffTag.TILEWIDTH, t);
            tif.SetField(TiffTag.TILELENGTH, t);
            var tileRowBytes = t * pixelBytes;
            var buffer = new byte[tileRowBytes * t];
            for (short p = 0; p < planes; p++)
                for (var y = 0; y < h; y += t)
                    for (var x = 0; x < w; x += t)
                    {
                        Array.Clear(buffer);
                        var copy = Math.Min(t, w - x) * pixelBytes;
                        for (var r = 0; r < Math.Min(t, h - y); r++)
                            Buffer.BlockCopy(layout, p * planeBytes + (y + r) * rowBytes + x * pixelBytes, buffer, r * tileRowBytes, copy);
                        tif.WriteEncodedTile(tif.ComputeTile(x, y, 0, p), buffer, buffer.Length);
                    }
        }
        else
        {
            var rowsPerStrip = options.RowsPerStrip > 0 ? Math.Min(options.RowsPerStrip, h) : Math.Clamp(8192 / Math.Max(rowBytes, 1), 1, h);
            tif.SetField(TiffTag.ROWSPERSTRIP, rowsPerStrip);
            for (short p = 0; p < planes; p++)
                for (var row = 0; row < h; row += rowsPerStrip)
                {
                    var rows = Math.Min(rowsPerStrip, h - row);
                    tif.WriteEncodedStrip(tif.ComputeStrip(row, p), layout, p * planeBytes + row * rowBytes, rows * rowBytes);
                }
        }
        tif.WriteDirectory();
    }

    private static byte[] Interleave(byte[] planar, int channels, int plane, int bytesPerSample)
    {
        if (channels == 1) return planar;
        var interleaved = new byte[planar.Length];
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < channels; c++)
                Buffer.BlockCopy(planar, (c * plane + i) * bytesPerSample, interleaved, (i * channels + c) * bytesPerSample, bytesPerSample);
        return interleaved;
    }

    private static int Required(Tiff tif, TiffTag tag, string name, List<string> errors)
    {
        var value = tif.GetField(tag) ?? throw Fail(name, TagName(tag), "required tag is missing", errors);
        return value[0].ToInt();
    }

    private static int Defaulted(Tiff tif, TiffTag tag, int fallback)
    {
        var value = tif.GetFieldDefaulted(tag);
        return value is { Length: > 0 } ? value[0].ToInt() : fallback;
    }

    private static string TagName(TiffTag tag) => tag switch
    {
        TiffTag.IMAGEWIDTH => "ImageWidth",
        TiffTag.IMAGELENGTH => "ImageLength",
        TiffTag.TILEWIDTH => "TileWidth",
        TiffTag.TILELENGTH => "TileLength",
        _ => tag.ToString(),
    };

    /// <summary>A decode error naming the file and tag, with the LibTiff messages captured so far on this thread.</summary>
    internal static ImageDecodeException Fail(string name, string? field, string detail) =>
        Fail(name, field, detail, Handler.CurrentErrors ?? []);

    /// <summary>Runs a LibTiff action with its messages captured and its exceptions turned into <see cref="ImageDecodeException"/>.</summary>
    internal static T Capture<T>(string name, Func<T> action) => Handler.Capture(name, _ => action());

    private static ImageDecodeException Fail(string name, string? field, string detail, List<string> errors)
    {
        var libtiff = errors.Count > 0 ? $" (LibTiff: {string.Join("; ", errors.Distinct())})" : string.Empty;
        return new ImageDecodeException(name, field, detail + libtiff + ".");
    }

    private static CapturingErrorHandler InstallHandler()
    {
        GeoTiffTags.Register();
        var handler = new CapturingErrorHandler();
        handler.Previous = Tiff.SetErrorHandler(handler);
        return handler;
    }

    /// <summary>
    /// LibTiff reports through one process-wide handler. While this codec runs on a thread, messages
    /// from that thread are collected for the exception; everything else goes to the previous handler,
    /// so a host's own LibTiff use is unaffected.
    /// </summary>
    private sealed class CapturingErrorHandler : TiffErrorHandler
    {
        [ThreadStatic] private static List<string>? _errors;

        public TiffErrorHandler? Previous { get; set; }

        public List<string>? CurrentErrors => _errors;

        public T Capture<T>(string name, Func<List<string>, T> action)
        {
            var outer = _errors;
            var errors = new List<string>();
            _errors = errors;
            try
            {
                return action(errors);
            }
            catch (Exception ex) when (ex is not ImageDecodeException and not OutOfMemoryException)
            {
                // LibTiff.NET throws plain exceptions on some corrupt inputs (e.g. offsets past the end).
                throw new ImageDecodeException(name, null, $"corrupt or unsupported TIFF: {ex.Message}" +
                    (errors.Count > 0 ? $" (LibTiff: {string.Join("; ", errors.Distinct())})" : string.Empty) + ".", ex);
            }
            finally
            {
                _errors = outer;
            }
        }

        public override void ErrorHandler(Tiff tif, string method, string format, params object[] args)
        {
            if (_errors is { } errors) errors.Add(Format(method, format, args));
            else Previous?.ErrorHandler(tif, method, format, args);
        }

        public override void ErrorHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args)
        {
            if (_errors is null) Previous?.ErrorHandlerExt(tif, clientData, method, format, args);
        }

        // GeoTIFF tags are unknown to LibTiff and produce warnings on every real RSVQA image: drop them
        // while decoding, pass them on otherwise.
        public override void WarningHandler(Tiff tif, string method, string format, params object[] args)
        {
            if (_errors is null) Previous?.WarningHandler(tif, method, format, args);
        }

        public override void WarningHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args)
        {
            if (_errors is null) Previous?.WarningHandlerExt(tif, clientData, method, format, args);
        }

        private static string Format(string method, string format, object[] args)
        {
            string text;
            try { text = string.Format(CultureInfo.InvariantCulture, format, args); }
            catch (FormatException) { text = format; }
            return string.IsNullOrEmpty(method) ? text : $"{method}: {text}";
        }
    }
}
