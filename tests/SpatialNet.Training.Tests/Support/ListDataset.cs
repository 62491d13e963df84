using SpatialNet.Training.Data;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Support;

/// <summary>A dataset whose sample i holds "value" = i and a token sequence of length 1 + i mod 3.</summary>
internal sealed class ListDataset(string name, int count) : IDataset
{
    public string Name { get; } = name;

    public int Count { get; } = count;

    public Sample GetSample(int index)
    {
        var sample = new Sample();
        sample.Set("value", tensor((long)index));
        sample.Set("tokens", tensor(Enumerable.Range(5, 1 + index % 3).Select(v => (long)v).ToArray()));
        return sample;
    }
}
