namespace SpatialNet.Training.Data;

/// <summary>
/// A small, fully specified pseudo-random generator (SplitMix64, Steele et al., OOPSLA 2014), so
/// shuffles, samplers and synthetic scenes give the same result for the same seed on every platform
/// and .NET version (<see cref="Random"/> promises no such thing across versions).
/// </summary>
public sealed class SeededRandom
{
    private ulong _state;

    /// <summary>Starts a stream from a seed.</summary>
    public SeededRandom(ulong seed) => _state = seed;

    /// <summary>Starts a stream from several values mixed together (e.g. seed, epoch, dataset index).</summary>
    public static SeededRandom From(params ulong[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ulong state = 0x9E3779B97F4A7C15UL;
        foreach (var part in parts) state = Mix(state ^ Mix(part + 0x632BE59BD9B4E019UL));
        return new SeededRandom(state);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>) without modulo bias.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxExclusive"/> is not positive.</exception>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), $"maxExclusive must be positive; got {maxExclusive}.");
        var bound = (ulong)maxExclusive;
        var limit = ulong.MaxValue - ulong.MaxValue % bound;
        ulong r;
        do r = NextUInt64(); while (r >= limit);
        return (int)(r % bound);
    }

    /// <summary>A uniform integer in [<paramref name="min"/>, <paramref name="max"/>] (both inclusive).</summary>
    public int NextInt(int min, int max)
    {
        if (max < min) throw new ArgumentOutOfRangeException(nameof(max), $"max ({max}) must be ≥ min ({min}).");
        return min + NextInt(max - min + 1);
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool NextBool(double p = 0.5) => NextDouble() < p;

    /// <summary>Shuffles in place (Fisher–Yates).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A random permutation of 0..<paramref name="count"/>−1.</summary>
    public int[] Permutation(int count)
    {
        var result = Enumerable.Range(0, count).ToArray();
        Shuffle(result.AsSpan());
        return result;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
