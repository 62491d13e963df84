namespace SpatialNet.Weights;

/// <summary>On-disk formats of a state dictionary.</summary>
public enum WeightFileFormat
{
    /// <summary>Decide from the file's first bytes when reading, from its extension when writing.</summary>
    Auto,
    /// <summary>Hugging Face safetensors: an 8-byte little-endian header length, a JSON header, raw tensor bytes.</summary>
    Safetensors,
    /// <summary>PyTorch <c>torch.save(state_dict)</c> zip archive with a pickled dictionary (<c>.pth</c>, <c>.pt</c>, <c>.bin</c>).</summary>
    PyTorch,
}
