using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Checkpoints;

/// <summary>
/// Named tensors plus string metadata in the safetensors layout (an 8-byte little-endian header
/// length, a JSON header with <c>dtype</c>, <c>shape</c>, <c>data_offsets</c> per tensor and a
/// <c>__metadata__</c> string map, then the raw little-endian data), so a checkpoint opens with
/// Python's <c>safetensors.torch.load_file</c>. Tensors are streamed one at a time, so writing
/// needs at most one tensor's worth of extra host memory.
/// </summary>
internal static class TensorArchive
{
    private const long MaxHeaderBytes = 256L << 20;
    private const int ChunkBytes = 64 << 20;

    private static readonly (ScalarType Type, string Name, int Size)[] DTypes =
    [
        (ScalarType.Float32, "F32", 4), (ScalarType.Float64, "F64", 8), (ScalarType.Float16, "F16", 2),
        (ScalarType.BFloat16, "BF16", 2), (ScalarType.Int64, "I64", 8), (ScalarType.Int32, "I32", 4),
        (ScalarType.Int16, "I16", 2), (ScalarType.Int8, "I8", 1), (ScalarType.Byte, "U8", 1), (ScalarType.Bool, "BOOL", 1),
    ];

    public static void Write(Stream stream, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            foreach (var (k, v) in metadata)
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

        Span<byte> lengthBytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)header.Length);
        stream.Write(lengthBytes);
        header.Position = 0;
        header.CopyTo(stream);

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

    /// <summary>Reads the header of <paramref name="path"/>; tensors are loaded on demand with <see cref="Reader.Read"/>.</summary>
    public static Reader Open(string path) => new(path);

    internal sealed class Reader : IDisposable
    {
        private readonly FileStream _stream;
        private readonly long _dataStart;
        private readonly Dictionary<string, (ScalarType Type, long[] Shape, long Begin, long End)> _entries = new(StringComparer.Ordinal);

        public Reader(string path)
        {
            Path = path;
            _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20);
            try
            {
                Span<byte> lengthBytes = stackalloc byte[8];
                if (_stream.Read(lengthBytes) != 8)
                    throw Corrupt("file is shorter than the 8-byte header length");
                ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
                if (headerLength == 0 || headerLength > (ulong)MaxHeaderBytes || (long)headerLength > _stream.Length - 8)
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
                    var match = DTypes.FirstOrDefault(d => d.Name == dtypeName);
                    if (match.Name is null)
                        throw Corrupt($"tensor '{prop.Name}': dtype '{dtypeName}' is not one of {string.Join(", ", DTypes.Select(d => d.Name))}");
                    var shape = prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    var offsets = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    long numel = shape.Aggregate(1L, (a, b) => a * b);
                    if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] > dataLength || offsets[1] - offsets[0] != numel * match.Size)
                        throw Corrupt($"tensor '{prop.Name}': data_offsets [{string.Join(", ", offsets)}] do not fit shape [{string.Join(", ", shape)}] {dtypeName} in {dataLength} data bytes");
                    _entries[prop.Name] = (match.Type, shape, offsets[0], offsets[1]);
                }
                Metadata = metadata;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
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

        public string Path { get; }

        public IReadOnlyDictionary<string, string> Metadata { get; }

        public IEnumerable<string> Names => _entries.Keys;

        public bool Contains(string name) => _entries.ContainsKey(name);

        /// <summary>Loads tensor <paramref name="name"/> into a new CPU tensor (in the current dispose scope).</summary>
        public Tensor Read(string name)
        {
            if (!_entries.TryGetValue(name, out var e))
                throw new InvalidDataException($"Checkpoint '{Path}' has no tensor '{name}'.");
            var t = empty(e.Shape, dtype: e.Type);
            long n = t.numel();
            if (n == 0)
                return t;
            _stream.Position = _dataStart + e.Begin;
            using var flat = t.reshape(-1);
            int size = (int)flat.ElementSize;
            long perChunk = Math.Max(1, ChunkBytes / size);
            for (long start = 0; start < n; start += perChunk)
            {
                using var chunk = flat.narrow(0, start, Math.Min(perChunk, n - start));
                _stream.ReadExactly(chunk.bytes);
            }
            return t;
        }

        public void Dispose() => _stream.Dispose();

        private InvalidDataException Corrupt(string what) => new($"Checkpoint '{Path}' is not a valid safetensors file: {what}.");
    }

    private static (ScalarType Type, string Name, int Size) Lookup(ScalarType type, string tensorName)
    {
        foreach (var d in DTypes)
        {
            if (d.Type == type)
                return d;
        }
        throw new NotSupportedException($"Tensor '{tensorName}' has dtype {type}, which the checkpoint format does not store.");
    }

    /// <summary>Up to <paramref name="max"/> quoted names, then how many more, for error messages.</summary>
    internal static string Describe(IEnumerable<string> names, int max = 8)
    {
        var list = names.ToList();
        if (list.Count == 0)
            return "none";
        var text = string.Join(", ", list.Take(max).Select(n => $"'{n}'"));
        return list.Count > max ? FormattableString.Invariant($"{text} and {list.Count - max} more") : text;
    }
}
