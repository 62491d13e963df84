using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Weights;

/// <summary>
/// Named tensors plus string metadata in the safetensors layout (an 8-byte little-endian header
/// length, a JSON header with <c>dtype</c>, <c>shape</c>, <c>data_offsets</c> per tensor and a
/// <c>__metadata__</c> string map, padded with spaces to 8 bytes, then the raw little-endian data),
/// readable by Python's <c>safetensors.torch.load_file</c>. Writing streams one tensor at a time
/// (at most one tensor's worth of extra host memory); <see cref="Open"/> reads tensors on demand.
/// The one safetensors writer of SpatialNet: <see cref="StateDictFile"/> and training checkpoints use it.
/// </summary>
public static class SafetensorsFile
{
    /// <summary>Metadata key of the SHA-256 of the data section (lowercase hex); readers verify it when present.</summary>
    internal const string ChecksumKey = "spatialnet.data_sha256";
    internal const long MaxHeaderBytes = 256L << 20;
    internal const long PortableHeaderBytes = 100_000_000;
    internal const int ChunkBytes = 64 << 20;

    internal static readonly (ScalarType Type, string Name, int Size)[] DTypes =
    [
        (ScalarType.Float32, "F32", 4), (ScalarType.Float64, "F64", 8), (ScalarType.Float16, "F16", 2),
        (ScalarType.BFloat16, "BF16", 2), (ScalarType.Int64, "I64", 8), (ScalarType.Int32, "I32", 4),
        (ScalarType.Int16, "I16", 2), (ScalarType.Int8, "I8", 1), (ScalarType.Byte, "U8", 1), (ScalarType.Bool, "BOOL", 1),
    ];

    /// <summary>
    /// Writes <paramref name="tensors"/> in the given order, with <paramref name="metadata"/> as the
    /// header's <c>__metadata__</c> map. Each tensor is copied to the CPU (made contiguous) one at a
    /// time and streamed in chunks of at most 64 MiB; the originals are not changed.
    /// </summary>
    /// <exception cref="NotSupportedException">A tensor's dtype has no safetensors name (the message names the tensor).</exception>
    /// <exception cref="ArgumentException">Two tensors share a name, or a name is <c>__metadata__</c>.</exception>
    public static void Write(Stream stream, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        var seen = new HashSet<string>(StringComparer.Ordinal) { "__metadata__" };
        foreach (var (name, _) in tensors)
        {
            if (!seen.Add(name))
                throw new ArgumentException(name == "__metadata__" ? "A tensor cannot be named '__metadata__'." : $"Two tensors are named '{name}'.", nameof(tensors));
        }
        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            foreach (var (k, v) in metadata ?? new Dictionary<string, string>())
                json.WriteString(k, v);
            json.WriteEndObject();
            long offset = 0;
            foreach (var (name, t) in tensors)
            {
                var (_, dtypeName, size) = Lookup(t.dtype, name);
                long bytes = t.numel() * size;
                json.WriteStartObject(name);
                json.WriteString("dtype", dtypeName);
                json.WriteStartArray("shape");
                foreach (var d in t.shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // Pad the header with spaces to a multiple of 8 bytes, as the safetensors writer does (aligned data).
        while (header.Length % 8 != 0)
            header.WriteByte((byte)' ');
        // Python's safetensors refuses headers above 100 MB (10⁸ bytes): fail here rather than write a file it cannot open.
        if (header.Length > PortableHeaderBytes)
            throw new ArgumentException($"The safetensors header would be {header.Length} bytes; readers accept at most {PortableHeaderBytes} (fewer tensors or less metadata per file).", nameof(tensors));

        Span<byte> lengthBytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)header.Length);
        stream.Write(lengthBytes);
        header.Position = 0;
        header.CopyTo(stream);

        WriteData(stream, tensors);
    }

    /// <summary>
    /// SHA-256 of the data section <see cref="Write"/> produces for <paramref name="tensors"/> (their
    /// bytes, in order), computed without writing a file; <see cref="SafetensorsReader.DataSha256"/> reads it back.
    /// </summary>
    public static byte[] DataSha256(IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        using var hashing = new HashingStream();
        WriteData(hashing, tensors);
        return hashing.Hash.GetHashAndReset();
    }

    private static void WriteData(Stream stream, IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        foreach (var (_, t) in tensors)
        {
            using var scope = NewDisposeScope();
            var flat = t.detach().cpu().contiguous().reshape(-1);
            long n = flat.numel();
            if (n == 0)
                continue;
            int size = (int)(flat.ElementSize);
            long perChunk = Math.Max(1, ChunkBytes / size);
            for (long start = 0; start < n; start += perChunk)
            {
                using var chunk = flat.narrow(0, start, Math.Min(perChunk, n - start));
                stream.Write(chunk.bytes);
            }
        }
    }

    private sealed class HashingStream : Stream
    {
        public System.Security.Cryptography.IncrementalHash Hash { get; } = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Hash.AppendData(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => Hash.AppendData(buffer);
        protected override void Dispose(bool disposing)
        {
            if (disposing) Hash.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Opens <paramref name="path"/> and reads its header; tensors are loaded on demand with <see cref="SafetensorsReader.Read"/>.</summary>
    /// <exception cref="WeightFileException">The file is not a valid safetensors file.</exception>
    public static SafetensorsReader Open(string path) => new(path);

    private static (ScalarType Type, string Name, int Size) Lookup(ScalarType type, string tensorName)
    {
        foreach (var d in DTypes)
        {
            if (d.Type == type)
                return d;
        }
        throw new NotSupportedException($"Tensor '{tensorName}' has dtype {type}, which safetensors cannot store.");
    }
}

/// <summary>
/// An open safetensors file: the header is read and checked when it opens (header size, every tensor's
/// dtype, shape and offsets fitting the file, no duplicate names, byte ranges that tile the data without
/// gaps, overlaps or trailing bytes), tensors are read on demand. The one safetensors reader of SpatialNet:
/// weight loading, <c>weights inspect</c>/<c>convert</c>, evaluation and checkpoints all read through it.
/// </summary>
public sealed class SafetensorsReader : IDisposable
{
    private readonly FileStream _stream;
    private readonly long _dataStart;
    private readonly Dictionary<string, (ScalarType Type, long[] Shape, long Begin, long End)> _entries = new(StringComparer.Ordinal);

    /// <summary>Opens <paramref name="path"/> and reads its header.</summary>
    /// <exception cref="WeightFileException">The file is not a valid safetensors file (the message names the file and what is wrong).</exception>
    public SafetensorsReader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        try
        {
            _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20);
        }
        catch (FileNotFoundException e)
        {
            throw new WeightFileException(path, $"Weight file '{path}' does not exist.", e);
        }
        try
        {
            Span<byte> lengthBytes = stackalloc byte[8];
            if (_stream.Read(lengthBytes) != 8)
                throw Corrupt("file is shorter than the 8-byte header length");
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            if (headerLength == 0 || headerLength > (ulong)SafetensorsFile.MaxHeaderBytes || (long)headerLength > _stream.Length - 8)
                throw Corrupt($"header length {headerLength} is not plausible for a file of {_stream.Length} bytes");
            var header = new byte[headerLength];
            _stream.ReadExactly(header);
            _dataStart = 8 + (long)headerLength;
            long dataLength = _stream.Length - _dataStart;

            using var doc = JsonDocument.Parse(header);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    foreach (var m in prop.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                var dtypeName = prop.Value.GetProperty("dtype").GetString();
                var match = SafetensorsFile.DTypes.FirstOrDefault(d => d.Name == dtypeName);
                if (match.Name is null)
                    throw Corrupt($"tensor '{prop.Name}': dtype '{dtypeName}' is not one of {string.Join(", ", SafetensorsFile.DTypes.Select(d => d.Name))}");
                var shape = Integers(prop, "shape");
                if (shape.Any(d => d < 0))
                    throw Corrupt($"tensor '{prop.Name}': shape [{string.Join(", ", shape)}] has a negative dimension");
                var offsets = Integers(prop, "data_offsets");
                long bytes = match.Size;
                foreach (var d in shape)
                {
                    if (d != 0 && bytes > long.MaxValue / d)
                        throw Corrupt($"tensor '{prop.Name}': shape [{string.Join(", ", shape)}] {dtypeName} would be more than 2^63 bytes");
                    bytes *= d;
                }
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] > dataLength || offsets[1] - offsets[0] != bytes)
                    throw Corrupt($"tensor '{prop.Name}': data_offsets [{string.Join(", ", offsets)}] do not fit shape [{string.Join(", ", shape)}] {dtypeName} in {dataLength} data bytes");
                if (!_entries.TryAdd(prop.Name, (match.Type, shape, offsets[0], offsets[1])))
                    throw Corrupt($"tensor '{prop.Name}' appears twice in the header");
            }
            // As the reference reader: the tensors' byte ranges tile the data section, without gaps or overlaps.
            long end = 0;
            foreach (var (name, e) in _entries.OrderBy(kv => kv.Value.Begin).ThenBy(kv => kv.Value.End))
            {
                if (e.Begin != end)
                    throw Corrupt($"tensor '{name}' starts at data byte {e.Begin}, expected {end} (byte ranges must follow each other without gaps or overlaps)");
                end = e.End;
            }
            if (end != dataLength)
                throw Corrupt($"the tensors cover {end} data bytes, the file holds {dataLength}");
            Metadata = metadata;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or OverflowException or EndOfStreamException)
        {
            _stream.Dispose();
            throw Corrupt($"malformed header ({e.Message})");
        }
        catch
        {
            _stream.Dispose();
            throw;
        }
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The header's <c>__metadata__</c> map (empty when there is none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor names, in header order.</summary>
    public IEnumerable<string> Names => _entries.Keys;

    /// <summary>Whether the file holds tensor <paramref name="name"/>.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>The shape of tensor <paramref name="name"/>.</summary>
    /// <exception cref="WeightFileException">The file has no such tensor.</exception>
    public long[] Shape(string name) => (_entries.TryGetValue(name, out var e) ? e.Shape : throw Missing(name)).ToArray();

    /// <summary>The element type of tensor <paramref name="name"/>.</summary>
    /// <exception cref="InvalidDataException">The file has no such tensor.</exception>
    public ScalarType DType(string name) => _entries.TryGetValue(name, out var e) ? e.Type : throw Missing(name);

    /// <summary>Loads tensor <paramref name="name"/> into a new CPU tensor (in the current dispose scope).</summary>
    /// <exception cref="WeightFileException">The file has no such tensor.</exception>
    public Tensor Read(string name)
    {
        if (!_entries.TryGetValue(name, out var e))
            throw Missing(name);
        var t = empty(e.Shape, dtype: e.Type);
        long n = t.numel();
        if (n == 0)
            return t;
        _stream.Position = _dataStart + e.Begin;
        using var flat = t.reshape(-1);
        int size = (int)flat.ElementSize;
        long perChunk = Math.Max(1, SafetensorsFile.ChunkBytes / size);
        for (long start = 0; start < n; start += perChunk)
        {
            using var chunk = flat.narrow(0, start, Math.Min(perChunk, n - start));
            try
            {
                _stream.ReadExactly(chunk.bytes);
            }
            catch (EndOfStreamException ex)
            {
                throw Corrupt($"tensor '{name}' ends past the end of the file (truncated; {ex.Message})");
            }
        }
        return t;
    }

    /// <summary>SHA-256 of the file's data section (every tensor's bytes), as <see cref="SafetensorsFile.DataSha256"/> computes it for the tensors written.</summary>
    public byte[] DataSha256()
    {
        _stream.Position = _dataStart;
        return System.Security.Cryptography.SHA256.HashData(_stream);
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _stream.Dispose();

    private long[] Integers(JsonProperty tensor, string field)
    {
        var value = tensor.Value.GetProperty(field);
        var result = new long[value.GetArrayLength()];
        int i = 0;
        foreach (var e in value.EnumerateArray())
        {
            if (!e.TryGetInt64(out result[i++]))
                throw Corrupt($"tensor '{tensor.Name}': {field} {value.GetRawText()} holds a value that is not a 64-bit integer");
        }
        return result;
    }

    private WeightFileException Missing(string name) => new(Path, $"'{Path}' has no tensor '{name}'.");

    private WeightFileException Corrupt(string what) => new(Path, $"'{Path}' is not a valid safetensors file: {what}.");
}
