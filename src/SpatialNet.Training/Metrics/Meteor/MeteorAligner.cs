namespace SpatialNet.Training.Metrics.Meteor;

/// <summary>
/// Meteor 1.5's aligner, ported literally (quirks included) so that scores agree with stock Meteor:
/// candidate matches per module, one-to-one matches fixed in advance, then a left-to-right beam search
/// over reference positions ranked by weighted match count, chunks and distance.
/// </summary>
/// <remarks>
/// Faithful details: words are compared by their Java <c>String.hashCode</c> (as stock Meteor's
/// <c>Stage</c> does); the search uses weights exact 1.0 and 0.5 for every other module, truncating the
/// running match counts to <c>int</c> after each addition; a new path's distance is added to the path it
/// branched from; sorting is stable; if candidate and reference are token-for-token identical only the
/// first module runs.
/// </remarks>
internal sealed class MeteorAligner
{
    private readonly IReadOnlyList<MeteorModule> _modules;
    private readonly double[] _searchWeights;
    private readonly int _beamSize;
    private readonly IMeteorSynonymSource? _synonyms;
    private readonly MeteorParaphraseTable? _paraphrases;
    private readonly IReadOnlySet<string> _functionWords;

    public MeteorAligner(MeteorOptions options)
    {
        _modules = options.Modules;
        _searchWeights = options.Modules.Select(m => m == MeteorModule.Exact ? 1.0 : 0.5).ToArray();
        _beamSize = options.BeamSize;
        _synonyms = options.Synonyms;
        _paraphrases = options.Paraphrases;
        _functionWords = options.FunctionWords ?? MeteorFunctionWords.English;
    }

    /// <summary>Java's <c>String.hashCode</c> over UTF-16 code units.</summary>
    internal static int JavaHashCode(string s)
    {
        int h = 0;
        foreach (char c in s)
        {
            h = unchecked((31 * h) + c);
        }

        return h;
    }

    public Result Align(IReadOnlyList<string> test, IReadOnlyList<string> reference)
    {
        int tLen = test.Count, rLen = reference.Count;
        var keys1 = test.Select(JavaHashCode).ToArray();
        var keys2 = reference.Select(JavaHashCode).ToArray();
        var candidates = new List<MeteorMatch>[rLen];
        for (int j = 0; j < rLen; j++)
        {
            candidates[j] = [];
        }

        var coverage1 = new int[tLen];
        var coverage2 = new int[rLen];

        void Add(int stage, int j, int i) => AddSpan(stage, j, 1, i, 1);

        void AddSpan(int stage, int j, int refLength, int i, int testLength)
        {
            candidates[j].Add(new MeteorMatch(j, refLength, i, testLength, stage));
            for (int k = 0; k < testLength; k++)
            {
                coverage1[i + k]++;
            }

            for (int k = 0; k < refLength; k++)
            {
                coverage2[j + k]++;
            }
        }

        // Identical sentences need only exact matches (stock Meteor's guard against beam errors).
        int stagesUsed = keys1.AsSpan().SequenceEqual(keys2) ? 1 : _modules.Count;
        for (int stage = 0; stage < stagesUsed; stage++)
        {
            switch (_modules[stage])
            {
                case MeteorModule.Exact:
                    for (int j = 0; j < rLen; j++)
                    {
                        for (int i = 0; i < tLen; i++)
                        {
                            if (keys1[i] == keys2[j])
                            {
                                Add(stage, j, i);
                            }
                        }
                    }

                    break;
                case MeteorModule.Stem:
                    {
                        var stems1 = test.Select(w => JavaHashCode(SnowballEnglishStemmer.Stem(w))).ToArray();
                        var stems2 = reference.Select(w => JavaHashCode(SnowballEnglishStemmer.Stem(w))).ToArray();
                        for (int j = 0; j < rLen; j++)
                        {
                            for (int i = 0; i < tLen; i++)
                            {
                                if (stems1[i] == stems2[j] && keys1[i] != keys2[j])
                                {
                                    Add(stage, j, i);
                                }
                            }
                        }

                        break;
                    }

                case MeteorModule.Synonym:
                    {
                        var syn1 = test.Select(w => _synonyms!.SynsetsOf(w)).ToArray();
                        var syn2 = reference.Select(w => _synonyms!.SynsetsOf(w)).ToArray();
                        for (int j = 0; j < rLen; j++)
                        {
                            for (int i = 0; i < tLen; i++)
                            {
                                if (keys1[i] != keys2[j] && syn1[i].Overlaps(syn2[j]))
                                {
                                    Add(stage, j, i);
                                }
                            }
                        }

                        break;
                    }

                case MeteorModule.Paraphrase:
                    // Reference phrases whose paraphrase occurs in the test, then test phrases whose
                    // paraphrase occurs in the reference.
                    for (int j = 0; j < rLen; j++)
                    {
                        foreach (var (length, words) in _paraphrases!.PhrasesAt(reference, j))
                        {
                            for (int i = 0; i < tLen; i++)
                            {
                                if (Occurs(words, test, i))
                                {
                                    AddSpan(stage, j, length, i, words.Length);
                                }
                            }
                        }
                    }

                    for (int i = 0; i < tLen; i++)
                    {
                        foreach (var (length, words) in _paraphrases!.PhrasesAt(test, i))
                        {
                            for (int j = 0; j < rLen; j++)
                            {
                                if (Occurs(words, reference, j))
                                {
                                    AddSpan(stage, j, words.Length, i, length);
                                }
                            }
                        }
                    }

                    break;
                default:
                    throw new InvalidOperationException($"Unknown Meteor module {_modules[stage]}.");
            }
        }

        // A match that is the only candidate at its reference position and covers words no other
        // candidate touches is certain: place it before the search.
        var start = new PartialAlignment(rLen, tLen);
        for (int j = 0; j < rLen; j++)
        {
            if (candidates[j].Count != 1)
            {
                continue;
            }

            var m = candidates[j][0];
            bool overlap = false;
            for (int k = 0; k < m.RefLength; k++)
            {
                overlap |= coverage2[j + k] != 1;
            }

            for (int k = 0; k < m.TestLength; k++)
            {
                overlap |= coverage1[m.TestStart + k] != 1;
            }

            if (!overlap)
            {
                start.Matches[j] = m;
                start.SetUsed(m);
            }
        }

        var best = Resolve(candidates, start, rLen);

        var isFunction1 = test.Select(w => _functionWords.Contains(MeteorNormalizer.JavaLowerCase(w))).ToArray();
        var isFunction2 = reference.Select(w => _functionWords.Contains(MeteorNormalizer.JavaLowerCase(w))).ToArray();
        int modules = _modules.Count;
        var content1 = new int[modules];
        var content2 = new int[modules];
        var function1 = new int[modules];
        var function2 = new int[modules];
        var chosen = new List<MeteorMatch>();
        foreach (var m in best.Matches)
        {
            if (m is null)
            {
                continue;
            }

            chosen.Add(m);
            for (int k = 0; k < m.TestLength; k++)
            {
                if (isFunction1[m.TestStart + k])
                {
                    function1[m.Stage]++;
                }
                else
                {
                    content1[m.Stage]++;
                }
            }

            for (int k = 0; k < m.RefLength; k++)
            {
                if (isFunction2[m.RefStart + k])
                {
                    function2[m.Stage]++;
                }
                else
                {
                    content2[m.Stage]++;
                }
            }
        }

        var alignment = new MeteorAlignment(
            test.ToArray(),
            reference.ToArray(),
            chosen,
            Enumerable.Range(0, tLen).Where(i => isFunction1[i]).ToArray(),
            Enumerable.Range(0, rLen).Where(j => isFunction2[j]).ToArray());
        return new Result(alignment, content1, content2, function1, function2, CountChunks(best.Matches));
    }

    private static bool Occurs(string[] phrase, IReadOnlyList<string> words, int start)
    {
        if (phrase.Length == 0 || start + phrase.Length > words.Count)
        {
            return false;
        }

        for (int k = 0; k < phrase.Length; k++)
        {
            if (!string.Equals(words[start + k], phrase[k], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Chunks of the final alignment: maximal runs contiguous in the reference and in order in the test.</summary>
    private static int CountChunks(MeteorMatch?[] matches)
    {
        int chunks = 0, idx = 0, lastMatchEnd = -1;
        while (idx < matches.Length)
        {
            var m = matches[idx];
            if (m is null)
            {
                if (lastMatchEnd != -1)
                {
                    chunks++;
                    lastMatchEnd = -1;
                }

                idx++;
            }
            else
            {
                if (lastMatchEnd != -1 && m.TestStart != lastMatchEnd)
                {
                    chunks++;
                }

                idx = m.RefStart + m.RefLength;
                lastMatchEnd = m.TestStart + m.TestLength;
            }
        }

        return lastMatchEnd != -1 ? chunks + 1 : chunks;
    }

    private PartialAlignment Resolve(List<MeteorMatch>[] candidates, PartialAlignment start, int rLen)
    {
        var next = new List<PartialAlignment> { start };
        for (int current = 0; current <= rLen; current++)
        {
            var paths = StableSort(next);
            next = [];
            for (int rank = 0; rank < _beamSize && rank < paths.Count; rank++)
            {
                var path = paths[rank];

                // Complete: close the last chunk.
                if (current == rLen)
                {
                    if (path.LastMatchEnd != -1)
                    {
                        path.Chunks++;
                    }

                    next.Add(path);
                    continue;
                }

                // Reference word already used: inside a match, or a fixed match starting here.
                if (path.UsedRef[current])
                {
                    if (current < path.Idx)
                    {
                        next.Add(path);
                    }
                    else if (path.Matches[path.Idx] is { } fixedMatch)
                    {
                        Extend(path, fixedMatch);
                        path.Distance += Math.Abs(fixedMatch.RefStart - fixedMatch.TestStart);
                        next.Add(path);
                    }

                    continue;
                }

                // Branch on every candidate whose words are free.
                foreach (var m in candidates[current])
                {
                    if (path.IsUsed(m))
                    {
                        continue;
                    }

                    var branch = path.Clone();
                    branch.SetUsed(m);
                    branch.Matches[current] = m;
                    Extend(branch, m);
                    // Stock Meteor adds the distance to the path it branched from, not to the branch.
                    path.Distance += Math.Abs(m.RefStart - m.TestStart);
                    next.Add(branch);
                }

                // Or leave this reference word unmatched.
                if (path.LastMatchEnd != -1)
                {
                    path.Chunks++;
                    path.LastMatchEnd = -1;
                }

                path.Idx++;
                next.Add(path);
            }

            if (next.Count == 0)
            {
                next.Add(paths[0]);
            }
        }

        return StableSort(next)[0];
    }

    private void Extend(PartialAlignment path, MeteorMatch m)
    {
        double w = _searchWeights[m.Stage];
        // Java's int += double: the sum is computed in double and truncated back to int.
        path.Matches1 = (int)(path.Matches1 + (m.TestLength * w));
        path.Matches2 = (int)(path.Matches2 + (m.RefLength * w));
        if (path.LastMatchEnd != -1 && m.TestStart != path.LastMatchEnd)
        {
            path.Chunks++;
        }

        path.Idx = m.RefStart + m.RefLength;
        path.LastMatchEnd = m.TestStart + m.TestLength;
    }

    /// <summary>Stable sort: more weighted matches first, then fewer chunks, then smaller distance.</summary>
    private static List<PartialAlignment> StableSort(List<PartialAlignment> paths) =>
        paths.OrderBy(p => p, PathComparer.Instance).ToList();

    private sealed class PathComparer : IComparer<PartialAlignment>
    {
        public static readonly PathComparer Instance = new();

        public int Compare(PartialAlignment? x, PartialAlignment? y)
        {
            int matchDiff = (y!.Matches1 + y.Matches2) - (x!.Matches1 + x.Matches2);
            if (matchDiff != 0)
            {
                return matchDiff > 0 ? 1 : -1;
            }

            int chunkDiff = x.Chunks - y.Chunks;
            return chunkDiff != 0 ? chunkDiff : x.Distance - y.Distance;
        }
    }

    internal sealed class PartialAlignment
    {
        public PartialAlignment(int refLength, int testLength)
        {
            Matches = new MeteorMatch?[refLength];
            UsedRef = new bool[refLength];
            UsedTest = new bool[testLength];
        }

        private PartialAlignment(PartialAlignment other)
        {
            Matches = (MeteorMatch?[])other.Matches.Clone();
            UsedRef = (bool[])other.UsedRef.Clone();
            UsedTest = (bool[])other.UsedTest.Clone();
            Matches1 = other.Matches1;
            Matches2 = other.Matches2;
            Chunks = other.Chunks;
            Idx = other.Idx;
            LastMatchEnd = other.LastMatchEnd;
            Distance = other.Distance;
        }

        public MeteorMatch?[] Matches { get; }

        public bool[] UsedRef { get; }

        public bool[] UsedTest { get; }

        public int Matches1 { get; set; }

        public int Matches2 { get; set; }

        public int Chunks { get; set; }

        public int Idx { get; set; }

        public int LastMatchEnd { get; set; } = -1;

        public int Distance { get; set; }

        public PartialAlignment Clone() => new(this);

        public bool IsUsed(MeteorMatch m)
        {
            for (int k = 0; k < m.RefLength; k++)
            {
                if (UsedRef[m.RefStart + k])
                {
                    return true;
                }
            }

            for (int k = 0; k < m.TestLength; k++)
            {
                if (UsedTest[m.TestStart + k])
                {
                    return true;
                }
            }

            return false;
        }

        public void SetUsed(MeteorMatch m)
        {
            for (int k = 0; k < m.RefLength; k++)
            {
                UsedRef[m.RefStart + k] = true;
            }

            for (int k = 0; k < m.TestLength; k++)
            {
                UsedTest[m.TestStart + k] = true;
            }
        }
    }

    internal sealed record Result(
        MeteorAlignment Alignment,
        int[] TestContentMatches,
        int[] ReferenceContentMatches,
        int[] TestFunctionMatches,
        int[] ReferenceFunctionMatches,
        int Chunks);
}
