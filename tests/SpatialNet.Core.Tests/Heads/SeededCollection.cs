using Xunit;

namespace SpatialNet.Core.Tests.Heads;

/// <summary>
/// Tests that seed torch's global generator and compare two constructions run in this collection,
/// alone, so that no test running in parallel draws from the generator in between.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SeededCollection
{
    public const string Name = "Seeded multimodal";
}
