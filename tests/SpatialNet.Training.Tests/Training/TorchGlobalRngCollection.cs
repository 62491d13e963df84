using Xunit;

namespace SpatialNet.Training.Tests.Training;

/// <summary>
/// Tests that compare exact values drawn from torch's global CPU generator (dropout masks, <c>rand</c>
/// after a restore). The generator is process-wide, so these run alone, not beside other test classes.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchGlobalRngCollection
{
    public const string Name = "torch global RNG";
}
