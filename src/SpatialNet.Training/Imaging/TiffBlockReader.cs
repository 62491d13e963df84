using BitMiracle.LibTiff.Classic;

namespace SpatialNet.Training.Imaging;

/// <summary>
/// Decodes rectangles of a TIFF's first image from its strips or tiles, decoding only the blocks a
/// rectangle touches. Samples come back as stored (host byte order): pixel-interleaved for a
/// contiguous file, one band per plane for a planar one. Decoded blocks are kept in a least-recently
/// used cache of at most <see cref="CacheBytes"/> bytes, so overlapping reads decode each block once.
/// </summary>
internal sealed class TiffBlockReader
{
    private readonly Tiff _tif;
    private readonly string _name;
    private readonly Dictionary<int, LinkedListNode<(int Block, int Top, byte[] Data)>> _cache = [];
    private readonly LinkedList<(int Block, int Top, byte[] Data)> _lru = new();
    private long _cachedBytes;
    private byte[]? _scratch;
    // Buffers of released blocks, reused: a new large array per block would keep the collector busy.
    private readonly Stack<byte[]> _free = new();

    public TiffBlockReader(Tiff tif, string name, int width, int height, int samplesPerPixel, int bytesPerSample, PlanarConfig planar)
    {
        _tif = tif;
        _name = name;
        Width = width;
        Height = height;
        Planes = planar == PlanarConfig.SEPARATE ? samplesPerPixel : 1;
        PixelBytes = bytesPerSample * (planar == PlanarConfig.SEPARATE ? 1 : samplesPerPixel);
        Tiled = tif.IsTiled();
        if (Tiled)
        {
            BlockWidth = Required(TiffTag.TILEWIDTH);
            BlockHeight = Required(TiffTag.TILELENGTH);
            if (BlockWidth <= 0 || BlockHeight <= 0)
                throw TiffImageCodec.Fail(name, "TileWidth", $"tile size {BlockWidth}×{BlockHeight} is not positive");
        }
        else
        {
            var field = tif.GetFieldDefaulted(TiffTag.ROWSPERSTRIP);
            var rows = field is { Length: > 0 } ? (long)(uint)field[0].ToInt() : height;
            BlockWidth = width;
            BlockHeight = (int)Math.Clamp(rows, 1, height);
        }
    }

    public int Width { get; }
    public int Height { get; }
    public int Planes { get; }
    public int PixelBytes { get; }
    public bool Tiled { get; }
    public int BlockWidth { get; }
    public int BlockHeight { get; }

    /// <summary>Decoded bytes of one block (a full tile, or a strip of <see cref="BlockHeight"/> rows).</summary>
    public long BlockBytes => (long)BlockWidth * BlockHeight * PixelBytes;

    /// <summary>Most bytes of decoded blocks kept between reads; 0 keeps none.</summary>
    public long CacheBytes { get; set; }

    /// <summary>
    /// Copies columns [x, x+w) of rows [y, y+h) of <paramref name="plane"/> into <paramref name="destination"/>,
    /// row r at <c>offset + r·destinationRowBytes</c>.
    /// </summary>
    public void ReadRegion(int plane, int x, int y, int w, int h, byte[] destination, long offset, long destinationRowBytes)
    {
        if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > Width || y + h > Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"Window x {x}, y {y}, {w}×{h} is not inside the {Width}×{Height} image {_name}.");
        for (var by = y / BlockHeight; by * BlockHeight < y + h; by++)
        {
            var blockY = by * BlockHeight;
            var r0 = Math.Max(y, blockY);
            var r1 = Math.Min(y + h, Math.Min(blockY + BlockHeight, Height));
            for (var bx = x / BlockWidth; bx * BlockWidth < x + w; bx++)
            {
                var blockX = bx * BlockWidth;
                var c0 = Math.Max(x, blockX);
                var c1 = Math.Min(x + w, blockX + BlockWidth);
                var block = Block(plane, blockX, blockY);
                var blockRowBytes = BlockWidth * PixelBytes;
                var count = (c1 - c0) * PixelBytes;
                for (var r = r0; r < r1; r++)
                    Buffer.BlockCopy(block, (r - blockY) * blockRowBytes + (c0 - blockX) * PixelBytes,
                        destination, checked((int)(offset + (r - y) * destinationRowBytes + (long)(c0 - x) * PixelBytes)), count);
            }
        }
    }

    /// <summary>Drops cached blocks that end above row <paramref name="row"/> (a reader moving down the image needs them no more).</summary>
    public void ReleaseAbove(int row)
    {
        for (var node = _lru.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Top + BlockHeight <= row)
            {
                _lru.Remove(node);
                _cache.Remove(node.Value.Block);
                _cachedBytes -= node.Value.Data.Length;
                _free.Push(node.Value.Data);
            }
            node = next;
        }
    }

    private byte[] Block(int plane, int blockX, int blockY)
    {
        var index = Tiled ? _tif.ComputeTile(blockX, blockY, 0, (short)plane) : _tif.ComputeStrip(blockY, (short)plane);
        if (_cache.TryGetValue(index, out var node))
        {
            _lru.Remove(node);
            _lru.AddFirst(node);
            return node.Value.Data;
        }

        var rows = Tiled ? BlockHeight : Math.Min(BlockHeight, Height - blockY);
        var expected = checked((int)((long)rows * BlockWidth * PixelBytes));
        var size = checked((int)BlockBytes);
        var keep = CacheBytes >= size;
        var buffer = keep ? (_free.TryPop(out var reused) ? reused : new byte[size]) : (_scratch ??= new byte[size]);
        if (Tiled)
        {
            var read = _tif.ReadEncodedTile(index, buffer, 0, expected);
            if (read < expected)
                throw TiffImageCodec.Fail(_name, "TileByteCounts", $"tile {index} (x {blockX}, y {blockY}{(Planes > 1 ? $", band {plane}" : "")}) is truncated or corrupt: {Math.Max(read, 0)} of {expected} bytes decoded");
        }
        else
        {
            var read = _tif.ReadEncodedStrip(index, buffer, 0, expected);
            if (read < expected)
                throw TiffImageCodec.Fail(_name, "StripByteCounts", $"strip {index} (rows {blockY}–{blockY + rows - 1}{(Planes > 1 ? $", band {plane}" : "")}) is truncated or corrupt: {Math.Max(read, 0)} of {expected} bytes decoded");
        }

        if (keep)
        {
            while (_cachedBytes + size > CacheBytes && _lru.Last is { } last)
            {
                _lru.RemoveLast();
                _cache.Remove(last.Value.Block);
                _cachedBytes -= last.Value.Data.Length;
                _free.Push(last.Value.Data);
            }
            _cache[index] = _lru.AddFirst((index, blockY, buffer));
            _cachedBytes += size;
        }
        return buffer;
    }

    private int Required(TiffTag tag)
    {
        var value = _tif.GetField(tag) ?? throw TiffImageCodec.Fail(_name, tag == TiffTag.TILEWIDTH ? "TileWidth" : "TileLength", "required tag is missing");
        return value[0].ToInt();
    }
}
