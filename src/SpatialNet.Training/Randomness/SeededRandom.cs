namespace SpatialNet.Training.Randomness;

/// <summary>
/// A seeded pseudo-random generator whose complete state can be exported and restored, for data
/// shuffling and other host-side randomness that a checkpoint must reproduce (System.Random's state
/// cannot be saved). Algorithm: xoshiro256** (Blackman &amp; Vigna, 2021, "Scrambled Linear
/// Pseudorandom Number Generators"), seeded through SplitMix64 as its authors recommend.
/// The one generator of the library: shuffles, samplers, augmentation seeds and synthetic scenes
/// all use it, so a seed gives the same result on every platform and .NET version. Not thread-safe;
/// not for cryptography.
/// </summary>
internal sealed class SeededRandom
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Seeds the generator: the four state words are the first four SplitMix64 outputs of <paramref name="seed"/>.</summary>
    public SeededRandom(ulong seed)
    {
        ulong sm = seed;
        _s0 = SplitMix64(ref sm);
        _s1 = SplitMix64(ref sm);
        _s2 = SplitMix64(ref sm);
        _s3 = SplitMix64(ref sm);
    }

    private SeededRandom(ReadOnlySpan<ulong> state) => SetState(state);

    /// <summary>A generator that continues from an exported state (4 words, not all zero).</summary>
    public static SeededRandom FromState(ReadOnlySpan<ulong> state) => new(state);

    /// <summary>
    /// Derives an independent seed from a base seed and stream numbers (for example seed and epoch),
    /// by chaining SplitMix64, so that each (seed, stream) pair gets its own generator without any
    /// stored state.
    /// </summary>
    public static ulong DeriveSeed(ulong seed, params ReadOnlySpan<ulong> streams)
    {
        ulong z = seed;
        ulong h = SplitMix64(ref z);
        foreach (var s in streams)
        {
            z = h ^ s;
            h = SplitMix64(ref z);
        }
        return h;
    }

    /// <summary>
    /// A generator for one stream of a seed: <c>new SeededRandom(DeriveSeed(seed, streams))</c>. Shuffles,
    /// samplers and synthetic scenes use it so that (seed, epoch, dataset, …) alone fixes their output.
    /// </summary>
    public static SeededRandom From(ulong seed, params ReadOnlySpan<ulong> streams) => new(DeriveSeed(seed, streams));

    /// <summary>One SplitMix64 step (Steele, Lea &amp; Flood, 2014): advances <paramref name="state"/> and returns the next output.</summary>
    public static ulong SplitMix64(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        ulong z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The four state words.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3];

    /// <summary>Replaces the state.</summary>
    /// <exception cref="ArgumentException">Not 4 words, or all zero (a fixed point of the generator).</exception>
    public void SetState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 4)
            throw new ArgumentException($"xoshiro256** state has 4 words; got {state.Length}.", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0)
            throw new ArgumentException("xoshiro256** state must not be all zero.", nameof(state));
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias (Lemire's method).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)NextUInt64Below((ulong)maxExclusive);
    }

    /// <summary>Uniform integer in [<paramref name="minInclusive"/>, <paramref name="maxExclusive"/>).</summary>
    public int NextInt(int minInclusive, int maxExclusive)
    {
        if (maxExclusive <= minInclusive)
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, $"Must be > minInclusive = {minInclusive}.");
        return (int)((long)minInclusive + (long)NextUInt64Below((ulong)((long)maxExclusive - minInclusive)));
    }

    /// <summary>Uniform integer in [<paramref name="min"/>, <paramref name="max"/>], both ends included.</summary>
    public int NextIntInclusive(int min, int max)
    {
        if (max < min)
            throw new ArgumentOutOfRangeException(nameof(max), max, $"Must be >= min = {min}.");
        return (int)((long)min + (long)NextUInt64Below((ulong)((long)max - min + 1)));
    }

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool NextBool(double p = 0.5) => NextDouble() < p;

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = (int)NextUInt64Below((ulong)i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A random permutation of 0 … <paramref name="count"/> − 1.</summary>
    public int[] Permutation(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var p = new int[count];
        for (int i = 0; i < count; i++)
            p[i] = i;
        Shuffle<int>(p);
        return p;
    }

    private ulong NextUInt64Below(ulong bound)
    {
        // Lemire (2019), "Fast Random Integer Generation in an Interval": multiply-high with rejection.
        ulong x = NextUInt64();
        UInt128 m = (UInt128)x * bound;
        ulong low = (ulong)m;
        if (low < bound)
        {
            ulong threshold = (0UL - bound) % bound;
            while (low < threshold)
            {
                x = NextUInt64();
                m = (UInt128)x * bound;
                low = (ulong)m;
            }
        }
        return (ulong)(m >> 64);
    }
}
