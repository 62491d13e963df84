using BitMiracle.LibTiff.Classic;
using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Imaging;

public sealed class TiffImageCodecTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<int, bool, bool, int> Layouts()
    {
        var data = new TheoryData<int, bool, bool, int>();
        foreach (var bits in new[] { 8, 16 })
            foreach (var tiled in new[] { false, true })
                foreach (var planar in new[] { false, true })
                    foreach (var bands in new[] { 1, 3, 5 })
                        data.Add(bits, tiled, planar, bands);
        return data;
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Decodes_every_layout_to_the_written_values_in_band_sequential_order(int bits, bool tiled, bool planar, int bands)
    {
        // 23×19 is not a multiple of the 16-pixel tiles nor of the 5-row strips: edge tiles and a short last strip.
        const int width = 23, height = 19;
        var path = _dir.Combine($"img-{bits}-{tiled}-{planar}-{bands}.tif");
        TestTiff.Write(path, width, height, bands, bits, tiled, planar);

        var image = TiffImageCodec.Read(path);

        image.Channels.Should().Be(bands);
        image.Height.Should().Be(height);
        image.Width.Should().Be(width);
        image.BitsPerSample.Should().Be(bits);
        for (var c = 0; c < bands; c++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    if (image[c, y, x] != TestTiff.Value(bits, c, y, x))
                        Assert.Fail($"band {c}, row {y}, column {x}: got {image[c, y, x]}, wrote {TestTiff.Value(bits, c, y, x)}");
    }

    [Theory]
    [InlineData(Compression.LZW)]
    [InlineData(Compression.DEFLATE)]
    [InlineData(Compression.PACKBITS)]
    public void Decodes_compressed_files(Compression compression)
    {
        var path = _dir.Combine($"c-{compression}.tif");
        TestTiff.Write(path, 20, 17, 3, 8, tiled: false, planar: false, compression: compression);

        var image = TiffImageCodec.Read(path);

        image[2, 16, 19].Should().Be(TestTiff.Value(8, 2, 16, 19));
        image[0, 0, 0].Should().Be(0);
    }

    [Fact]
    public void Decodes_big_endian_16_bit_samples_in_host_order()
    {
        var path = _dir.Combine("be.tif");
        TestTiff.Write(path, 9, 7, 2, 16, tiled: false, planar: false, bigEndian: true);
        File.ReadAllBytes(path)[..2].Should().Equal((byte)'M', (byte)'M');

        var image = TiffImageCodec.Read(path);

        image.Pixels16![0].Should().Be((ushort)TestTiff.Value(16, 0, 0, 0));
        image[1, 6, 8].Should().Be(TestTiff.Value(16, 1, 6, 8));
    }

    [Fact]
    public void Sixteen_bit_full_range_scaling_is_value_over_257_rounded()
    {
        ushort[] samples = [0, 128, 129, 257, 65535, 32896];
        var image = RasterImage.FromUInt16(samples, 1, 1, 6);

        var bytes = image.ToUInt8().Pixels8!;

        // 128/257 = 0.498 → 0; 129/257 = 0.502 → 1; 32896/257 = 128 exactly.
        bytes.Should().Equal(0, 0, 1, 1, 255, 128);
    }

    [Fact]
    public void Sixteen_bit_fixed_range_clamps_and_scales()
    {
        ushort[] samples = [0, 5000, 10000, 20000];
        var bytes = RasterImage.FromUInt16(samples, 1, 2, 2).ToUInt8(SixteenBitScaling.FixedRange(0, 10000)).Pixels8!;

        // 5000/10000·255 = 127.5 → 128 (halves away from zero); above the range clamps to 255.
        bytes.Should().Equal(0, 128, 255, 255);
    }

    [Fact]
    public void Per_band_min_max_stretches_each_band_separately()
    {
        // Band 0 spans 100..300, band 1 is constant.
        ushort[] samples = [100, 200, 300, 7, 7, 7];
        var bytes = RasterImage.FromUInt16(samples, 2, 1, 3).ToUInt8(SixteenBitScaling.PerBandMinMax).Pixels8!;

        bytes.Should().Equal(0, 128, 255, 0, 0, 0);
    }

    [Fact]
    public void Palette_images_are_expanded_to_rgb()
    {
        var path = _dir.Combine("palette.tif");
        using (var tif = Tiff.Open(path, "w"))
        {
            tif.SetField(TiffTag.IMAGEWIDTH, 2);
            tif.SetField(TiffTag.IMAGELENGTH, 1);
            tif.SetField(TiffTag.SAMPLESPERPIXEL, 1);
            tif.SetField(TiffTag.BITSPERSAMPLE, 8);
            tif.SetField(TiffTag.PHOTOMETRIC, Photometric.PALETTE);
            var r = new ushort[256]; var g = new ushort[256]; var b = new ushort[256];
            r[1] = 0xFF00; g[1] = 0x8000; b[1] = 0x0100; // 16-bit map entries: high bytes 255, 128, 1
            tif.SetField(TiffTag.COLORMAP, r, g, b);
            tif.WriteScanline(new byte[] { 0, 1 }, 0);
        }

        var image = TiffImageCodec.Read(path);

        image.Channels.Should().Be(3);
        image.Pixels8.Should().Equal(0, 255, 0, 128, 0, 1);
    }

    [Fact]
    public void Written_files_read_back_through_libtiff_scanlines()
    {
        var planarValues = Enumerable.Range(0, 3 * 5 * 4).Select(i => (byte)(i * 7)).ToArray();
        var image = RasterImage.FromBytes(planarValues, 3, 5, 4);
        foreach (var options in new[] { new TiffWriteOptions(), new TiffWriteOptions { Planar = true }, new TiffWriteOptions { Tiled = true, Compression = Compression.LZW } })
        {
            var path = _dir.Combine($"w-{options.Planar}-{options.Tiled}.tif");
            TiffImageCodec.Write(path, image, options);
            TiffImageCodec.Read(path).Pixels8.Should().Equal(planarValues);
            if (options.Tiled) continue;

            // Independent check: LibTiff's scanline reader sees the pixels where they belong.
            using var tif = Tiff.Open(path, "r");
            var line = new byte[tif.ScanlineSize()];
            tif.ReadScanline(line, 2, (short)(options.Planar ? 1 : 0)).Should().BeTrue();
            var expected = options.Planar ? new[] { planarValues[20 + 8], planarValues[20 + 9] } : new[] { planarValues[8], planarValues[20 + 8] };
            line.Take(2).Should().Equal(expected);
        }
    }

    [Fact]
    public void Writes_are_atomic_a_failed_write_leaves_nothing_and_stale_temporaries_are_removed()
    {
        var folder = _dir.Combine("atomic");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "scene.tif");
        var old = RasterImage.FromBytes(Enumerable.Repeat((byte)9, 3 * 4 * 4).ToArray(), 3, 4, 4);
        var fresh = RasterImage.FromBytes(Enumerable.Range(0, 3 * 4 * 4).Select(i => (byte)(i * 5)).ToArray(), 3, 4, 4);
        TiffImageCodec.Write(path, old);
        // A temporary of a killed writer: a process id that cannot be running.
        var stale = Path.Combine(folder, $"{SpatialNet.IO.AtomicFile.TempPrefix}scene.tif.{int.MaxValue - 1}.0123");
        File.WriteAllText(stale, "half a tiff");

        TiffImageCodec.Write(path, fresh);

        TiffImageCodec.Read(path).Pixels8.Should().Equal(fresh.Pixels8);
        Directory.GetFiles(folder).Select(Path.GetFileName).Should().Equal("scene.tif");

        // The target cannot be replaced (it is a folder): the write fails and leaves no temporary behind.
        var blocked = Path.Combine(folder, "blocked.tif");
        Directory.CreateDirectory(blocked);
        var write = () => TiffImageCodec.Write(blocked, fresh);
        write.Should().Throw<IOException>();
        Directory.GetFiles(folder).Select(Path.GetFileName).Should().Equal("scene.tif");
        Directory.GetFileSystemEntries(blocked).Should().BeEmpty();
    }

    [Fact]
    public void Encoding_is_deterministic()
    {
        var image = RasterImage.FromBytes(Enumerable.Range(0, 48).Select(i => (byte)i).ToArray(), 3, 4, 4);
        TiffImageCodec.Encode(image).Should().Equal(TiffImageCodec.Encode(image));
    }

    [Fact]
    public void Truncated_file_names_the_file_and_a_field()
    {
        var path = _dir.Combine("truncated.tif");
        // Uncompressed, one strip per 5 rows, directory written at the end by LibTiff: cut in the middle.
        TestTiff.Write(path, 64, 64, 3, 8, tiled: false, planar: false);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var act = () => ImageDecoder.Decode(path);

        var error = act.Should().Throw<ImageDecodeException>().Which;
        error.FilePath.Should().Be(path);
        error.Field.Should().NotBeNullOrEmpty();
        error.Message.Should().Contain(path);
    }

    [Fact]
    public void Strip_data_past_the_end_of_the_file_names_the_strip()
    {
        // 10 rows at 5 rows per strip: two strips. Keep the directory but point strip 1 past the end
        // of the file, which is what a file cut short in its pixel data looks like to a reader.
        var path = _dir.Combine("short-strip.tif");
        TestTiff.Write(path, 16, 10, 1, 8, tiled: false, planar: false);
        var bytes = File.ReadAllBytes(path);
        bytes[..2].Should().Equal((byte)'I', (byte)'I');
        var ifd = BitConverter.ToInt32(bytes, 4);
        var entries = BitConverter.ToUInt16(bytes, ifd);
        var patched = false;
        for (var e = 0; e < entries; e++)
        {
            var at = ifd + 2 + 12 * e;
            if (BitConverter.ToUInt16(bytes, at) != (ushort)TiffTag.STRIPOFFSETS) continue;
            BitConverter.ToUInt32(bytes, at + 4).Should().Be(2u); // two offsets, stored out of line
            var values = BitConverter.ToInt32(bytes, at + 8);
            BitConverter.TryWriteBytes(bytes.AsSpan(values + 4, 4), bytes.Length + 1000);
            patched = true;
        }
        patched.Should().BeTrue();
        File.WriteAllBytes(path, bytes);

        var error = FluentActions.Invoking(() => TiffImageCodec.Read(path)).Should().Throw<ImageDecodeException>().Which;

        error.FilePath.Should().Be(path);
        error.Field.Should().Be("StripByteCounts");
        error.Message.Should().Contain("strip 1");
    }

    [Fact]
    public void Corrupt_bytes_after_a_tiff_header_give_a_decode_error()
    {
        var path = _dir.Combine("corrupt.tif");
        var garbage = new byte[200];
        new Random(3).NextBytes(garbage);
        "II*\0"u8.CopyTo(garbage);
        File.WriteAllBytes(path, garbage);

        var error = FluentActions.Invoking(() => ImageDecoder.Decode(path)).Should().Throw<ImageDecodeException>().Which;

        error.FilePath.Should().Be(path);
        error.Message.Should().Contain(path);
    }

    [Fact]
    public void Unsupported_bit_depth_names_BitsPerSample()
    {
        var path = _dir.Combine("float.tif");
        using (var tif = Tiff.Open(path, "w"))
        {
            tif.SetField(TiffTag.IMAGEWIDTH, 2);
            tif.SetField(TiffTag.IMAGELENGTH, 1);
            tif.SetField(TiffTag.SAMPLESPERPIXEL, 1);
            tif.SetField(TiffTag.BITSPERSAMPLE, 32);
            tif.SetField(TiffTag.SAMPLEFORMAT, SampleFormat.IEEEFP);
            tif.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
            tif.WriteScanline(new byte[8], 0);
        }

        var error = FluentActions.Invoking(() => TiffImageCodec.Read(path)).Should().Throw<ImageDecodeException>().Which;

        error.Field.Should().Be("BitsPerSample");
        error.Message.Should().Contain("allowed: 8, 16");
    }

    [Fact]
    public void Wrong_band_count_names_SamplesPerPixel()
    {
        var path = _dir.Combine("one-band.tif");
        TestTiff.Write(path, 8, 8, 1, 8, tiled: false, planar: false);
        var cache = new ImageCache(new ImageLoadOptions { ExpectedBands = 3 });

        var error = FluentActions.Invoking(() => cache.Load(path)).Should().Throw<ImageDecodeException>().Which;

        error.FilePath.Should().Be(path);
        error.Field.Should().Be("SamplesPerPixel");
        error.Message.Should().Contain("1 bands").And.Contain("expects 3");
    }

    [Fact]
    public void Missing_and_empty_files_are_typed_errors()
    {
        var missing = _dir.Combine("nope.tif");
        FluentActions.Invoking(() => ImageDecoder.Decode(missing)).Should().Throw<DatasetFileNotFoundException>()
            .Which.FilePath.Should().Be(missing);

        var empty = _dir.Combine("empty.tif");
        File.WriteAllBytes(empty, []);
        FluentActions.Invoking(() => ImageDecoder.Decode(empty)).Should().Throw<ImageDecodeException>()
            .Which.Field.Should().Be("header");
    }
}
