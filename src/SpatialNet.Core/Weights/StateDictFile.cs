using System.Collections;
using System.Text;
using System.Text.Json;
using SpatialNet.IO;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace SpatialNet.Weights;

/// <summary>
/// Reads and writes state dictionaries as safetensors or PyTorch (<c>torch.save</c>) files. Reading
/// gives a plain dictionary (nothing is applied to a model here: <see cref="ModelWeights"/> does that
/// with shape checks): safetensors through <see cref="SafetensorsReader"/> (its checks), PyTorch zip
/// files through TorchSharp.PyBridge's unpickler (which executes nothing). Safetensors files are written
/// by <see cref="SafetensorsFile"/> with <c>{"format": "pt"}</c> as metadata, keys in ordinal order; every
/// write is atomic (<see cref="AtomicFile"/>).
/// </summary>
public static class StateDictFile
{
    /// <summary>Reads every tensor of a checkpoint file onto the CPU.</summary>
    /// <param name="path">A <c>.safetensors</c> or <c>torch.save</c> (zip) file.</param>
    /// <param name="format">The file's format; <see cref="WeightFileFormat.Auto"/> looks at its first bytes.</param>
    /// <exception cref="WeightFileException">The file does not exist, is neither format, or is damaged (the message names the file).</exception>
    public static StateDict Read(string path, WeightFileFormat format = WeightFileFormat.Auto)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new WeightFileException(path, Directory.Exists(path)
                ? $"Weight file '{path}' is a folder; name the weight file in it (e.g. model.safetensors)."
                : $"Weight file '{path}' does not exist.");
        if (format == WeightFileFormat.Auto) format = DetectFormat(path);
        return format switch
        {
            WeightFileFormat.Safetensors => ReadSafetensors(path),
            WeightFileFormat.PyTorch => ReadPyTorch(path),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Allowed: Auto, Safetensors, PyTorch."),
        };
    }

    /// <summary>
    /// Checks that the whole file's SHA-256 is <paramref name="expectedSha256"/>, the hash a model hub publishes
    /// for a download (Hugging Face: the LFS SHA-256 on the file's page, <c>lfs.sha256</c> in its API); call it before reading.
    /// </summary>
    /// <param name="path">The weight file.</param>
    /// <param name="expectedSha256">64 hexadecimal digits (either case).</param>
    /// <exception cref="ArgumentException"><paramref name="expectedSha256"/> is not 64 hexadecimal digits.</exception>
    /// <exception cref="WeightFileException">The file is missing, or its SHA-256 differs (the message names the file and both hashes).</exception>
    public static void VerifySha256(string path, string expectedSha256)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(expectedSha256);
        if (!IsSha256(expectedSha256))
            throw new ArgumentException($"'{expectedSha256}' is not a SHA-256 (64 hexadecimal digits).", nameof(expectedSha256));
        if (!File.Exists(path))
            throw new WeightFileException(path, $"Weight file '{path}' does not exist.");
        string actual;
        using (var stream = File.OpenRead(path))
            actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
        if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new WeightFileException(path,
                $"Weight file '{path}' is not the published file: its SHA-256 is {actual}, expected {expectedSha256.ToLowerInvariant()}. The download is corrupt or another file; download it again.");
    }

    /// <summary>Whether <paramref name="text"/> is a SHA-256 written as 64 hexadecimal digits.</summary>
    public static bool IsSha256(string? text) => text is { Length: 64 } && text.All(char.IsAsciiHexDigit);

    /// <summary>Checks the SHA-256 of the data that files written by the library record; files without one pass.</summary>
    /// <exception cref="WeightFileException">The data differs from what was written.</exception>
    internal static void VerifyChecksum(SafetensorsReader reader, string path)
    {
        if (!reader.Metadata.TryGetValue(SafetensorsFile.ChecksumKey, out var expected))
            return;
        var actual = Convert.ToHexStringLower(reader.DataSha256());
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
            throw new WeightFileException(path, $"Weight file '{path}' is damaged: the SHA-256 of its tensor data is {actual}, the file recorded {expected} when it was written.");
    }

    private static StateDict ReadSafetensors(string path)
    {
        using var reader = SafetensorsFile.Open(path);
        VerifyChecksum(reader, path);
        var result = new StateDict();
        try
        {
            foreach (var name in reader.Names)
                result[name] = reader.Read(name);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    private static StateDict ReadPyTorch(string path)
    {
        Hashtable table;
        try
        {
            table = PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The unpickler's own advice (registering object constructors) would make loading run code
            // from the file; only plain state dicts of tensors are accepted.
            var why = e is InvalidCastException || e.Message.Contains("IObjectConstructor", StringComparison.Ordinal) || e.Message.Contains("ClassDict", StringComparison.Ordinal)
                ? "it holds Python objects other than tensors (only a plain state dict, torch.save(model.state_dict()), is read; nothing in the file is executed)"
                : e is EndOfStreamException or InvalidDataException or OverflowException or ArgumentException or IndexOutOfRangeException
                    or System.Runtime.InteropServices.ExternalException
                    ? $"the file is truncated or damaged ({e.GetType().Name}: {ErrorBoundary.NativeMessage(e.Message).TrimEnd('.')})"
                    : $"{e.GetType().Name}: {ErrorBoundary.NativeMessage(e.Message).TrimEnd('.')}";
            throw new WeightFileException(path, $"Weight file '{path}' could not be read as a PyTorch checkpoint: {why}.", e);
        }
        return FromHashtable(table, path);
    }

    /// <summary>
    /// Writes tensors to <paramref name="path"/> (format from <paramref name="format"/>, or from the
    /// extension: <c>.safetensors</c>; <c>.pth</c>, <c>.pt</c>, <c>.bin</c> for PyTorch). Tensors are
    /// copied to the CPU and made contiguous; the originals are not changed. Keys are written in
    /// ordinal order so that the same weights always give the same file.
    /// </summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, WeightFileFormat format = WeightFileFormat.Auto)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        if (format == WeightFileFormat.Auto) format = FormatFromExtension(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        switch (format)
        {
            case WeightFileFormat.Safetensors:
                WriteSafetensors(path, tensors);
                break;
            case WeightFileFormat.PyTorch:
                WritePyTorch(path, tensors);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "Allowed: Auto, Safetensors, PyTorch.");
        }
    }

    /// <summary>Detects the format from the first bytes: <c>PK\x03\x04</c> (zip) is PyTorch, an 8-byte length followed by <c>{</c> is safetensors.</summary>
    /// <exception cref="WeightFileException">Neither format (the message names the file).</exception>
    public static WeightFileFormat DetectFormat(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> head = stackalloc byte[9];
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (read >= 4 && head[0] == 0x50 && head[1] == 0x4B && head[2] == 0x03 && head[3] == 0x04)
            return WeightFileFormat.PyTorch;
        // The reader then checks the header length, so an implausible one is reported as such.
        if (read == 9 && head[8] == (byte)'{')
            return WeightFileFormat.Safetensors;
        throw new WeightFileException(path,
            $"Weight file '{path}' is neither safetensors nor a PyTorch zip checkpoint (legacy non-zip torch.save files are not supported; re-save with PyTorch ≥ 1.6).");
    }

    private static WeightFileFormat FormatFromExtension(string path) =>
        Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".safetensors" => WeightFileFormat.Safetensors,
            ".pth" or ".pt" or ".bin" => WeightFileFormat.PyTorch,
            var ext => throw new ArgumentException(
                $"Cannot tell the weight format from the extension '{ext}' of '{path}'; allowed: .safetensors, .pth, .pt, .bin, or pass a format.", nameof(path)),
        };

    private static StateDict FromHashtable(Hashtable table, string path)
    {
        var result = new StateDict();
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is string key && entry.Value is Tensor tensor)
                result[key] = tensor;
            else
            {
                result.Dispose();
                throw new WeightFileException(path, $"Weight file '{path}' holds an entry '{entry.Key}' that is not a tensor; save model.state_dict() itself.");
            }
        }
        return result;
    }

    private static void WritePyTorch(string path, IReadOnlyDictionary<string, Tensor> tensors)
    {
        using var scope = NewDisposeScope();
        var table = new Hashtable();
        // Each tensor gets its own compact storage: the pickler records a view's storage offset but writes
        // only the view's elements, so a view into a larger buffer (a parameter of flat optimizer buffers,
        // a slice of master weights) would produce an unreadable file.
        foreach (var key in tensors.Keys.Order(StringComparer.Ordinal))
            table[key] = tensors[key].detach().cpu().clone();
        AtomicFile.Write(path, stream => PyTorchPickler.PickleStateDict(stream, table, leaveOpen: true));
    }

    private static void WriteSafetensors(string path, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var ordered = tensors.Keys.Order(StringComparer.Ordinal).Select(k => (k, tensors[k])).ToArray();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", [SafetensorsFile.ChecksumKey] = Convert.ToHexStringLower(SafetensorsFile.DataSha256(ordered)) };
        AtomicFile.Write(path, stream => SafetensorsFile.Write(stream, ordered, metadata));
    }
}
