using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Batched, deterministic autoregressive decoding: greedy and beam search over a next-token model.
/// Model-agnostic: the model is a function from prefixes to next-token logits, so the same search
/// serves the caption decoder and any other sequence head, and can be checked on hand-made models.
/// </summary>
/// <remarks>
/// <para>
/// A model comes in one of two forms; both decode by the same search, with the same results.
/// A prefix model (<see cref="Func{T, TResult}"/>) receives the whole prefixes [R, t] (int64;
/// column 0 is the start token) every step and returns the logits of the next token [R, V]: simple,
/// but each step recomputes every earlier position. An incremental model
/// (<see cref="IncrementalNextTokenLogits"/>) receives only the newest token of each row and the rows
/// that beam search kept, and keeps the rest itself (a key/value cache), so each step costs one
/// position. Greedy decoding passes R = B rows (row i = sample i);
/// beam search R = B·K rows, rows b·K … b·K + K − 1 being the beams of sample b. Rows of
/// finished samples are still passed (their content is unspecified) so that R stays fixed.
/// </para>
/// <para>
/// Rules shared by both: the padding and start tokens are never generated; with
/// <see cref="SequenceDecodingOptions.NoRepeatNgramSize"/> n, a token that would complete an n-gram
/// already present in the generated tokens is forbidden; a sequence stops at the end token or after
/// <see cref="SequenceDecodingOptions.MaxLength"/> tokens. Ties go to the lower token id (greedy)
/// or the lower (beam, token) index (beam search), so results are reproducible.
/// </para>
/// <para>
/// Beam search keeps K live beams per sample. Each step ranks the K·V extensions by their summed
/// log-probability; an extension by the end token that ranks among the top K becomes a finished
/// hypothesis scored log P / lp(|Y|) (<see cref="LengthPenaltyKind"/>); the best K other
/// extensions stay live. A sample is done when it holds K finished hypotheses and none of its live
/// beams can still beat the worst of them: with log-probabilities ≤ 0 and lp growing with length,
/// a live beam's best reachable score is its current sum divided by lp(MaxLength). At the length
/// limit, live beams become finished hypotheses without an end token. The answer is the finished
/// hypothesis with the best score. With one beam and no length penalty this is greedy decoding.
/// </para>
/// </remarks>
public static class SequenceDecoder
{
    /// <summary>Greedy decoding when <see cref="SequenceDecodingOptions.BeamWidth"/> is 1, else beam search.</summary>
    /// <param name="batchSize">Number of samples B.</param>
    /// <param name="nextTokenLogits">Prefixes [R, t] → next-token logits [R, V] (see the class remarks for R).</param>
    /// <param name="special">Padding, start and end ids.</param>
    /// <param name="options">Decoding settings; <see cref="SequenceDecodingOptions.MaxLength"/> must be set.</param>
    /// <param name="device">Device of the prefixes passed to the model (CPU when null).</param>
    public static DecodedSequences Decode(int batchSize, Func<Tensor, Tensor> nextTokenLogits, SpecialTokens special,
        SequenceDecodingOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.BeamWidth == 1
            ? Greedy(batchSize, nextTokenLogits, special, options, device)
            : BeamSearch(batchSize, nextTokenLogits, special, options, device);
    }

    /// <summary>Greedy decoding when <see cref="SequenceDecodingOptions.BeamWidth"/> is 1, else beam search, with an incremental model.</summary>
    /// <param name="batchSize">Number of samples B.</param>
    /// <param name="step">Newest tokens [R] and parent rows → next-token logits [R, V] (see <see cref="IncrementalNextTokenLogits"/>).</param>
    /// <param name="special">Padding, start and end ids.</param>
    /// <param name="options">Decoding settings; <see cref="SequenceDecodingOptions.MaxLength"/> must be set.</param>
    /// <param name="device">Device of the tokens and rows passed to the model (CPU when null).</param>
    public static DecodedSequences Decode(int batchSize, IncrementalNextTokenLogits step, SpecialTokens special,
        SequenceDecodingOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.BeamWidth == 1
            ? Greedy(batchSize, step, special, options, device)
            : BeamSearch(batchSize, step, special, options, device);
    }

    /// <summary>Greedy decoding: at each step the most probable allowed token.</summary>
    /// <inheritdoc cref="Decode(int, Func{Tensor, Tensor}, SpecialTokens, SequenceDecodingOptions, Device?)" path="/param"/>
    public static DecodedSequences Greedy(int batchSize, Func<Tensor, Tensor> nextTokenLogits, SpecialTokens special,
        SequenceDecodingOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(nextTokenLogits);
        return Greedy(batchSize, FromPrefixes(nextTokenLogits, special, device), special, options);
    }

    /// <summary>Greedy decoding with an incremental model: at each step the most probable allowed token.</summary>
    /// <inheritdoc cref="Decode(int, IncrementalNextTokenLogits, SpecialTokens, SequenceDecodingOptions, Device?)" path="/param"/>
    public static DecodedSequences Greedy(int batchSize, IncrementalNextTokenLogits step, SpecialTokens special,
        SequenceDecodingOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(step);
        return Greedy(batchSize, FromSteps(step, device), special, options);
    }

    /// <summary>Beam search with <see cref="SequenceDecodingOptions.BeamWidth"/> beams (rules in the class remarks).</summary>
    /// <inheritdoc cref="Decode(int, Func{Tensor, Tensor}, SpecialTokens, SequenceDecodingOptions, Device?)" path="/param"/>
    public static DecodedSequences BeamSearch(int batchSize, Func<Tensor, Tensor> nextTokenLogits, SpecialTokens special,
        SequenceDecodingOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(nextTokenLogits);
        return BeamSearch(batchSize, FromPrefixes(nextTokenLogits, special, device), special, options);
    }

    /// <summary>Beam search with an incremental model and <see cref="SequenceDecodingOptions.BeamWidth"/> beams (rules in the class remarks).</summary>
    /// <inheritdoc cref="Decode(int, IncrementalNextTokenLogits, SpecialTokens, SequenceDecodingOptions, Device?)" path="/param"/>
    public static DecodedSequences BeamSearch(int batchSize, IncrementalNextTokenLogits step, SpecialTokens special,
        SequenceDecodingOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(step);
        return BeamSearch(batchSize, FromSteps(step, device), special, options);
    }

    /// <summary>
    /// How the search obtains next-token logits [R, V]: from every row's generated tokens, the
    /// newest token of every row and, when beam search moved rows, each row's parent row.
    /// </summary>
    private delegate Tensor LogitSource(List<long>[] generated, long[] newest, long[]? parents);

    // A prefix model sees the start token and each row's generated tokens, padded at the end to the longest row.
    private static LogitSource FromPrefixes(Func<Tensor, Tensor> nextTokenLogits, SpecialTokens special, Device? device) =>
        (generated, _, _) =>
        {
            int rows = generated.Length;
            int t = rows == 0 ? 0 : generated.Max(g => g.Count);
            var prefix = new long[rows * (t + 1)];
            Array.Fill(prefix, special.Pad);
            for (int r = 0; r < rows; r++)
            {
                prefix[r * (t + 1)] = special.Bos;
                generated[r].CopyTo(prefix, r * (t + 1) + 1);
            }

            return nextTokenLogits(tensor(prefix, [rows, t + 1], dtype: int64, device: device));
        };

    private static LogitSource FromSteps(IncrementalNextTokenLogits step, Device? device) =>
        (_, newest, parents) => step(
            tensor(newest, dtype: int64, device: device),
            parents is null ? null : tensor(parents, dtype: int64, device: device));

    private static DecodedSequences Greedy(int batchSize, LogitSource logits, SpecialTokens special, SequenceDecodingOptions options)
    {
        int maxLength = Check(batchSize, options);
        var generated = Enumerable.Range(0, batchSize).Select(_ => new List<long>()).ToArray();
        var newest = Enumerable.Repeat(special.Bos, batchSize).ToArray();
        var sums = new double[batchSize];
        var ended = new bool[batchSize];
        var stopped = new bool[batchSize];
        for (int step = 0; step < maxLength && stopped.Contains(false); step++)
        {
            using var scope = NewDisposeScope();
            var logProbs = StepLogProbabilities(logits(generated, newest, null), generated, special, options, stopped);
            // argmax returns the first maximal index: ties go to the lower token id.
            var index = logProbs.argmax(1, keepdim: true);
            var tokens = index.cpu().data<long>().ToArray();
            var values = logProbs.gather(1, index).cpu().data<double>().ToArray();
            Array.Fill(newest, special.Pad);
            for (int i = 0; i < batchSize; i++)
            {
                if (stopped[i])
                {
                    continue;
                }

                if (double.IsNegativeInfinity(values[i]))
                {
                    stopped[i] = true;   // every token is forbidden: stop without an end token
                    continue;
                }

                sums[i] += values[i];
                if (tokens[i] == special.Eos)
                {
                    ended[i] = stopped[i] = true;
                }
                else
                {
                    generated[i].Add(tokens[i]);
                    newest[i] = tokens[i];
                }
            }
        }

        var scores = sums.Select((s, i) => s / options.Penalty(generated[i].Count + (ended[i] ? 1 : 0))).ToArray();
        return new DecodedSequences(generated.Select(g => g.ToArray()).ToArray(), ended, sums, scores);
    }

    private static DecodedSequences BeamSearch(int batchSize, LogitSource logits, SpecialTokens special, SequenceDecodingOptions options)
    {
        int maxLength = Check(batchSize, options);
        int k = options.BeamWidth;
        int rows = batchSize * k;
        var beams = Enumerable.Range(0, rows).Select(_ => new List<long>()).ToArray();
        var newest = Enumerable.Repeat(special.Bos, rows).ToArray();
        long[]? parents = null;
        // Only beam 0 of each sample starts alive, so the first step does not expand K copies of the start token.
        var beamSums = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            beamSums[r] = r % k == 0 ? 0.0 : double.NegativeInfinity;
        }

        var finished = Enumerable.Range(0, batchSize).Select(_ => new List<Hypothesis>()).ToArray();
        var done = new bool[batchSize];
        double bestPossiblePenalty = options.Penalty(maxLength);
        int order = 0;

        for (int step = 0; step < maxLength && done.Contains(false); step++)
        {
            bool last = step == maxLength - 1;
            double[] values;
            long[] indices;
            int candidates;
            int vocab;
            using (var scope = NewDisposeScope())
            {
                var stopped = Enumerable.Range(0, rows).Select(r => done[r / k]).ToArray();
                var logProbs = StepLogProbabilities(logits(beams, newest, parents), beams, special, options, stopped);
                vocab = (int)logProbs.shape[1];
                var totals = (logProbs + tensor(beamSums, dtype: float64, device: logProbs.device).unsqueeze(1)).reshape(batchSize, (long)k * vocab);
                candidates = Math.Min(2 * k, k * vocab);
                // Stable sort: equal totals keep (beam, token) order, so ties resolve the same way every run.
                var (sorted, order2) = totals.sort(1, descending: true, stable: true);
                values = sorted.narrow(1, 0, candidates).cpu().data<double>().ToArray();
                indices = order2.narrow(1, 0, candidates).cpu().data<long>().ToArray();
            }

            var nextBeams = new List<long>[rows];
            var nextSums = new double[rows];
            var nextNewest = new long[rows];
            var nextParents = new long[rows];
            for (int b = 0; b < batchSize; b++)
            {
                if (done[b])
                {
                    for (int j = 0; j < k; j++)
                    {
                        nextBeams[b * k + j] = beams[b * k + j];
                        nextSums[b * k + j] = double.NegativeInfinity;
                        nextNewest[b * k + j] = special.Pad;
                        nextParents[b * k + j] = b * k + j;
                    }

                    continue;
                }

                int live = 0;
                for (int rank = 0; rank < candidates && live < k; rank++)
                {
                    double total = values[b * candidates + rank];
                    if (double.IsNegativeInfinity(total))
                    {
                        break;
                    }

                    long flat = indices[b * candidates + rank];
                    int source = b * k + (int)(flat / vocab);
                    long token = flat % vocab;
                    if (token == special.Eos)
                    {
                        // An end token ranked below the top K would displace no live beam; as in common
                        // implementations it is not kept (this makes one beam equal greedy decoding).
                        if (rank < k)
                        {
                            var tokens = beams[source].ToArray();
                            finished[b].Add(new Hypothesis(tokens, true, total, total / options.Penalty(tokens.Length + 1), order++));
                        }

                        continue;
                    }

                    var extended = new List<long>(beams[source]) { token };
                    if (last)
                    {
                        finished[b].Add(new Hypothesis(extended.ToArray(), false, total, total / options.Penalty(extended.Count), order++));
                    }

                    nextBeams[b * k + live] = extended;
                    nextSums[b * k + live] = total;
                    nextNewest[b * k + live] = token;
                    nextParents[b * k + live] = source;
                    live++;
                }

                double bestLive = live > 0 ? nextSums[b * k] : double.NegativeInfinity;
                for (int j = live; j < k; j++)
                {
                    // A dead row copies the best live beam (or keeps its own content): it is never chosen again.
                    nextBeams[b * k + j] = live > 0 ? nextBeams[b * k] : beams[b * k];
                    nextSums[b * k + j] = double.NegativeInfinity;
                    nextNewest[b * k + j] = live > 0 ? nextNewest[b * k] : special.Pad;
                    nextParents[b * k + j] = live > 0 ? nextParents[b * k] : b * k + j;
                }

                Prune(finished[b], k);
                done[b] = last || live == 0
                    || finished[b].Count >= k && finished[b][^1].Score >= bestLive / bestPossiblePenalty;
            }

            beams = nextBeams;
            beamSums = nextSums;
            newest = nextNewest;
            // No row moved: the model need not reorder anything.
            parents = Enumerable.Range(0, rows).All(r => nextParents[r] == r) ? null : nextParents;
        }

        var best = finished.Select(f => f.Count > 0 ? f[0] : new Hypothesis([], false, double.NegativeInfinity, double.NegativeInfinity, 0)).ToArray();
        return new DecodedSequences(
            best.Select(h => h.Tokens).ToArray(),
            best.Select(h => h.Ended).ToArray(),
            best.Select(h => h.LogProbability).ToArray(),
            best.Select(h => h.Score).ToArray());
    }

    private static int Check(int batchSize, SequenceDecodingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        options.ThrowIfInvalid();
        return options.MaxLength
            ?? throw new ArgumentException("SequenceDecodingOptions.MaxLength = null is not allowed here; allowed: an integer >= 1 (the caption head fills it in from its position table).", nameof(options));
    }

    /// <summary>The model's logits [R, V] as float64 log-probabilities with forbidden tokens at −∞.</summary>
    private static Tensor StepLogProbabilities(Tensor logits, List<long>[] generated, SpecialTokens special,
        SequenceDecodingOptions options, bool[] stopped)
    {
        int rows = generated.Length;
        if (logits.dim() != 2 || logits.shape[0] != rows)
        {
            throw new InvalidOperationException($"The next-token model must return logits [{rows}, V]; it returned [{string.Join(", ", logits.shape)}].");
        }

        var logProbs = logits.to(float64).log_softmax(1);
        long vocab = logProbs.shape[1];
        var forbidden = new List<long>();
        for (int r = 0; r < rows; r++)
        {
            forbidden.Add(r * vocab + special.Pad);
            forbidden.Add(r * vocab + special.Bos);
            if (!stopped[r] && options.NoRepeatNgramSize > 0)
            {
                foreach (var token in RepeatedNgramCompletions(generated[r], options.NoRepeatNgramSize))
                {
                    forbidden.Add(r * vocab + token);
                }
            }
        }

        var flat = logProbs.reshape(-1);
        flat.index_fill_(0, tensor(forbidden.ToArray(), dtype: int64, device: logProbs.device), double.NegativeInfinity);
        return flat.reshape(rows, vocab);
    }

    /// <summary>Tokens that would complete an n-gram of <paramref name="sequence"/> that already occurred.</summary>
    internal static IEnumerable<long> RepeatedNgramCompletions(IReadOnlyList<long> sequence, int n)
    {
        int count = sequence.Count;
        if (count < n - 1)
        {
            yield break;
        }

        // The last n − 1 tokens are the prefix of the next n-gram; find earlier occurrences of it.
        for (int start = 0; start + n - 1 < count; start++)
        {
            bool match = true;
            for (int i = 0; i < n - 1 && match; i++)
            {
                match = sequence[start + i] == sequence[count - (n - 1) + i];
            }

            if (match)
            {
                yield return sequence[start + n - 1];
            }
        }
    }

    // Keeps the best K hypotheses, best first; equal scores keep the order they were found in.
    private static void Prune(List<Hypothesis> hypotheses, int k)
    {
        var kept = hypotheses.OrderByDescending(h => h.Score).ThenBy(h => h.Order).Take(k).ToList();
        hypotheses.Clear();
        hypotheses.AddRange(kept);
    }

    private sealed record Hypothesis(long[] Tokens, bool Ended, double LogProbability, double Score, int Order);
}
