using System.Globalization;
using BitMiracle.LibTiff.Classic;

namespace SpatialNet.Training.Imaging;

/// <summary>
/// An affine map from pixel (column, row) to map coordinates, in GDAL's order:
/// <c>X = OriginX + col·PixelWidth + row·RowRotation</c>, <c>Y = OriginY + col·ColumnRotation + row·PixelHeight</c>
/// (pixel corners; <see cref="PixelHeight"/> is negative for north-up images).
/// </summary>
public readonly record struct GeoTransform(double OriginX, double PixelWidth, double RowRotation, double OriginY, double ColumnRotation, double PixelHeight)
{
    /// <summary>Area of one pixel in map units², |a·e − b·d|.</summary>
    public double PixelArea => Math.Abs(PixelWidth * PixelHeight - RowRotation * ColumnRotation);

    /// <summary>The transform of a grid whose cells are <paramref name="factor"/>×<paramref name="factor"/> of these pixels, same origin.</summary>
    public GeoTransform Scaled(double factor) =>
        this with { PixelWidth = PixelWidth * factor, RowRotation = RowRotation * factor, ColumnRotation = ColumnRotation * factor, PixelHeight = PixelHeight * factor };

    /// <summary>The six values in GDAL order.</summary>
    public double[] ToArray() => [OriginX, PixelWidth, RowRotation, OriginY, ColumnRotation, PixelHeight];
}

/// <summary>
/// The GeoTIFF georeferencing of an image, kept as stored so it can be written again: model tie
/// points and pixel scale, or a model transformation; the GeoKey directory with its double and
/// ASCII parameters (the coordinate reference system); GDAL's no-data value.
/// </summary>
public sealed record GeoReference
{
    /// <summary>GTRasterTypeGeoKey: 1 = PixelIsArea (GeoTIFF's default), 2 = PixelIsPoint.</summary>
    internal const ushort RasterTypeKey = 1025;

    /// <summary>ModelPixelScaleTag (33550): ScaleX, ScaleY, ScaleZ.</summary>
    public IReadOnlyList<double>? PixelScale { get; init; }

    /// <summary>ModelTiepointTag (33922): groups of (I, J, K, X, Y, Z).</summary>
    public IReadOnlyList<double>? TiePoints { get; init; }

    /// <summary>ModelTransformationTag (34264): a 4×4 matrix, row-major.</summary>
    public IReadOnlyList<double>? Transformation { get; init; }

    /// <summary>GeoKeyDirectoryTag (34735): header (version, revision, minor, key count) then 4 shorts per key.</summary>
    public IReadOnlyList<ushort>? GeoKeys { get; init; }

    /// <summary>GeoDoubleParamsTag (34736).</summary>
    public IReadOnlyList<double>? GeoDoubleParams { get; init; }

    /// <summary>GeoAsciiParamsTag (34737), '|'-separated strings.</summary>
    public string? GeoAsciiParams { get; init; }

    /// <summary>GDAL_NODATA (42113) as written ("0", "-9999", "nan").</summary>
    public string? NoDataText { get; init; }

    /// <summary>The no-data value, or null when there is none or it does not parse.</summary>
    public double? NoData => NoDataText is { } text && double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>True when the raster type key says PixelIsPoint.</summary>
    public bool PixelIsPoint => KeyValue(RasterTypeKey) == 2;

    /// <summary>
    /// The pixel-corner geotransform as GDAL computes it: from the transformation matrix, or from the
    /// first tie point and the pixel scale; PixelIsPoint shifts the origin by half a pixel. Null when
    /// the tags do not define one.
    /// </summary>
    public GeoTransform? Transform
    {
        get
        {
            GeoTransform transform;
            if (Transformation is { Count: >= 16 } m)
                transform = new GeoTransform(m[3], m[0], m[1], m[7], m[4], m[5]);
            else if (TiePoints is { Count: >= 6 } t && PixelScale is { Count: >= 2 } s)
                transform = new GeoTransform(t[3] - t[0] * s[0], s[0], 0, t[4] + t[1] * s[1], 0, -s[1]);
            else
                return null;
            if (!PixelIsPoint) return transform;
            return transform with
            {
                OriginX = transform.OriginX - 0.5 * transform.PixelWidth - 0.5 * transform.RowRotation,
                OriginY = transform.OriginY - 0.5 * transform.ColumnRotation - 0.5 * transform.PixelHeight,
            };
        }
    }

    /// <summary>
    /// The georeferencing of another grid over the same coordinate reference system: the GeoKeys and
    /// their parameters are copied (raster type set to PixelIsArea), the transform replaced.
    /// </summary>
    public GeoReference WithTransform(GeoTransform transform, string? noData)
    {
        var keys = GeoKeys?.ToArray();
        if (keys is not null)
            for (var k = 4; k + 3 < keys.Length; k += 4)
                if (keys[k] == RasterTypeKey && keys[k + 1] == 0) keys[k + 3] = 1;
        var rotated = transform.RowRotation != 0 || transform.ColumnRotation != 0;
        return new GeoReference
        {
            GeoKeys = keys,
            GeoDoubleParams = GeoDoubleParams,
            GeoAsciiParams = GeoAsciiParams,
            NoDataText = noData,
            Transformation = rotated
                ? [transform.PixelWidth, transform.RowRotation, 0, transform.OriginX, transform.ColumnRotation, transform.PixelHeight, 0, transform.OriginY, 0, 0, 0, 0, 0, 0, 0, 1]
                : null,
            TiePoints = rotated ? null : [0, 0, 0, transform.OriginX, transform.OriginY, 0],
            PixelScale = rotated ? null : [transform.PixelWidth, -transform.PixelHeight, 0],
        };
    }

    /// <summary>The value of an inline (short) GeoKey, or null.</summary>
    internal int? KeyValue(ushort key)
    {
        if (GeoKeys is not { Count: >= 4 } keys) return null;
        for (var k = 4; k + 3 < keys.Count; k += 4)
            if (keys[k] == key && keys[k + 1] == 0) return keys[k + 3];
        return null;
    }

    /// <summary>Reads the GeoTIFF tags of the current directory; null when it has none.</summary>
    internal static GeoReference? Read(Tiff tif)
    {
        var reference = new GeoReference
        {
            PixelScale = Doubles(tif, GeoTiffTags.ModelPixelScale),
            TiePoints = Doubles(tif, GeoTiffTags.ModelTiePoint),
            Transformation = Doubles(tif, GeoTiffTags.ModelTransformation),
            GeoKeys = Shorts(tif, GeoTiffTags.GeoKeyDirectory),
            GeoDoubleParams = Doubles(tif, GeoTiffTags.GeoDoubleParams),
            GeoAsciiParams = Ascii(tif, GeoTiffTags.GeoAsciiParams),
            NoDataText = Ascii(tif, GeoTiffTags.GdalNoData),
        };
        return reference == new GeoReference() ? null : reference;
    }

    /// <summary>Writes these tags into the directory being written.</summary>
    internal void Write(Tiff tif)
    {
        if (PixelScale is { } scale) tif.SetField(GeoTiffTags.ModelPixelScale, scale.Count, scale.ToArray());
        if (TiePoints is { } ties) tif.SetField(GeoTiffTags.ModelTiePoint, ties.Count, ties.ToArray());
        if (Transformation is { } matrix) tif.SetField(GeoTiffTags.ModelTransformation, matrix.Count, matrix.ToArray());
        if (GeoKeys is { } keys) tif.SetField(GeoTiffTags.GeoKeyDirectory, keys.Count, keys.Select(k => (short)k).ToArray());
        if (GeoDoubleParams is { } doubles) tif.SetField(GeoTiffTags.GeoDoubleParams, doubles.Count, doubles.ToArray());
        if (GeoAsciiParams is { } ascii) tif.SetField(GeoTiffTags.GeoAsciiParams, ascii);
        if (NoDataText is { } noData) tif.SetField(GeoTiffTags.GdalNoData, noData);
    }

    // Equality by value, so "no tags at all" compares equal to an empty record.
    /// <inheritdoc/>
    public bool Equals(GeoReference? other) =>
        other is not null && Same(PixelScale, other.PixelScale) && Same(TiePoints, other.TiePoints)
        && Same(Transformation, other.Transformation) && Same(GeoKeys, other.GeoKeys)
        && Same(GeoDoubleParams, other.GeoDoubleParams) && GeoAsciiParams == other.GeoAsciiParams && NoDataText == other.NoDataText;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(PixelScale?.Count, TiePoints?.Count, GeoKeys?.Count, GeoAsciiParams, NoDataText);

    private static bool Same<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b) => a is null ? b is null : b is not null && a.SequenceEqual(b);

    private static double[]? Doubles(Tiff tif, TiffTag tag)
    {
        var field = tif.GetField(tag);
        if (field is null) return null;
        return field.Length > 1 ? field[1].ToDoubleArray() : field[0].ToDoubleArray();
    }

    private static ushort[]? Shorts(Tiff tif, TiffTag tag)
    {
        var field = tif.GetField(tag);
        if (field is null) return null;
        return (field.Length > 1 ? field[1] : field[0]).ToUShortArray();
    }

    private static string? Ascii(Tiff tif, TiffTag tag)
    {
        var field = tif.GetField(tag);
        if (field is null) return null;
        var text = (field.Length > 1 ? field[1] : field[0]).ToString();
        return text?.TrimEnd('\0');
    }
}

/// <summary>Registers the GeoTIFF and GDAL tags with LibTiff so they are read with their types and can be written.</summary>
internal static class GeoTiffTags
{
    public const TiffTag ModelPixelScale = (TiffTag)33550;
    public const TiffTag ModelTiePoint = (TiffTag)33922;
    public const TiffTag ModelTransformation = (TiffTag)34264;
    public const TiffTag GeoKeyDirectory = (TiffTag)34735;
    public const TiffTag GeoDoubleParams = (TiffTag)34736;
    public const TiffTag GeoAsciiParams = (TiffTag)34737;
    public const TiffTag GdalMetadata = (TiffTag)42112;
    public const TiffTag GdalNoData = (TiffTag)42113;

    private static readonly object Gate = new();
    private static bool _registered;
    private static Tiff.TiffExtendProc? _previous;

    private static readonly TiffFieldInfo[] Fields =
    [
        new(ModelPixelScale, -1, -1, TiffType.DOUBLE, FieldBit.Custom, true, true, "ModelPixelScaleTag"),
        new(ModelTiePoint, -1, -1, TiffType.DOUBLE, FieldBit.Custom, true, true, "ModelTiepointTag"),
        new(ModelTransformation, -1, -1, TiffType.DOUBLE, FieldBit.Custom, true, true, "ModelTransformationTag"),
        new(GeoKeyDirectory, -1, -1, TiffType.SHORT, FieldBit.Custom, true, true, "GeoKeyDirectoryTag"),
        new(GeoDoubleParams, -1, -1, TiffType.DOUBLE, FieldBit.Custom, true, true, "GeoDoubleParamsTag"),
        new(GeoAsciiParams, -1, -1, TiffType.ASCII, FieldBit.Custom, true, false, "GeoAsciiParamsTag"),
        new(GdalMetadata, -1, -1, TiffType.ASCII, FieldBit.Custom, true, false, "GDALMetadata"),
        new(GdalNoData, -1, -1, TiffType.ASCII, FieldBit.Custom, true, false, "GDALNoDataValue"),
    ];

    public static void Register()
    {
        lock (Gate)
        {
            if (_registered) return;
            _previous = Tiff.SetTagExtender(Extend);
            _registered = true;
        }
    }

    private static void Extend(Tiff tif)
    {
        tif.MergeFieldInfo(Fields, Fields.Length);
        _previous?.Invoke(tif);
    }
}
