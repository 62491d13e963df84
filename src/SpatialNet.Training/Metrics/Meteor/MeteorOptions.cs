namespace SpatialNet.Training.Metrics.Meteor;

/// <summary>Meteor's matching modules, in the order stock Meteor numbers them.</summary>
public enum MeteorModule
{
    /// <summary>Identical words.</summary>
    Exact = 0,

    /// <summary>Different words with the same Snowball English stem.</summary>
    Stem = 1,

    /// <summary>Different words sharing a WordNet synset (needs <see cref="MeteorOptions.Synonyms"/>).</summary>
    Synonym = 2,

    /// <summary>
    /// Phrases listed as paraphrases (needs <see cref="MeteorOptions.Paraphrases"/>). Implemented from the
    /// structure of Meteor's public paraphrase matcher; not verified against stock Meteor 1.5 output.
    /// </summary>
    Paraphrase = 3,
}

/// <summary>How Meteor prepares text before aligning it.</summary>
public enum MeteorTextNormalization
{
    /// <summary>Meteor's <c>-norm</c>: full normalisation/tokenisation, then lowercase (the COCO setting).</summary>
    Normalize,

    /// <summary>Meteor's <c>-lower</c>: lowercase only; input must already be tokenised.</summary>
    LowercaseOnly,

    /// <summary>No change: input must already be tokenised and cased as wanted.</summary>
    None,
}

/// <summary>
/// Settings of the Meteor 1.5 scorer. Defaults are stock Meteor 1.5's English "rank" task
/// (α 0.85, β 0.2, γ 0.6, δ 0.75; module weights exact 1.0, stem 0.6, synonym 0.8, paraphrase 0.6), beam 40,
/// <c>-norm</c>, modules exact + stem.
/// </summary>
public sealed class MeteorOptions
{
    /// <summary>The modules, in matching order (default exact, stem).</summary>
    public IReadOnlyList<MeteorModule> Modules { get; init; } = [MeteorModule.Exact, MeteorModule.Stem];

    /// <summary>Synonym source for the <see cref="MeteorModule.Synonym"/> module (required when it is listed).</summary>
    public IMeteorSynonymSource? Synonyms { get; init; }

    /// <summary>Paraphrase table for the <see cref="MeteorModule.Paraphrase"/> module (required when it is listed).</summary>
    public MeteorParaphraseTable? Paraphrases { get; init; }

    /// <summary>α: weight of recall against precision in the harmonic mean.</summary>
    public double Alpha { get; init; } = 0.85;

    /// <summary>β: exponent of the fragmentation penalty.</summary>
    public double Beta { get; init; } = 0.2;

    /// <summary>γ: maximum fragmentation penalty.</summary>
    public double Gamma { get; init; } = 0.6;

    /// <summary>δ: weight of content words against function words.</summary>
    public double Delta { get; init; } = 0.75;

    /// <summary>Scoring weight per module in <see cref="Modules"/>; null for the rank-task defaults.</summary>
    public IReadOnlyList<double>? ModuleWeights { get; init; }

    /// <summary>Beam width of the alignment search (40 in Meteor 1.5).</summary>
    public int BeamSize { get; init; } = 40;

    /// <summary>Text preparation (default <see cref="MeteorTextNormalization.Normalize"/>).</summary>
    public MeteorTextNormalization Normalization { get; init; } = MeteorTextNormalization.Normalize;

    /// <summary>
    /// Apply what COCO's Python wrapper (pycocoevalcap <c>meteor.py</c>) does to text before Meteor sees
    /// it through its <c>|||</c>-separated protocol (default true, which is how the reference values were
    /// made): the candidate loses every <c>|||</c> and has double spaces replaced by single ones, and a
    /// reference containing <c>|||</c> is split there into several references. Only text containing
    /// <c>|||</c> is affected.
    /// </summary>
    public bool EmulateCocoWrapper { get; init; } = true;

    /// <summary>Function words; null for Meteor's English list (<see cref="MeteorFunctionWords.English"/>).</summary>
    public IReadOnlySet<string>? FunctionWords { get; init; }

    /// <summary>The scoring weight stock Meteor 1.5 gives a module in the English rank task.</summary>
    /// <param name="module">The module.</param>
    /// <returns>1.0 for exact, 0.6 for stem, 0.8 for synonym, 0.6 for paraphrase.</returns>
    public static double DefaultWeight(MeteorModule module) => module switch
    {
        MeteorModule.Exact => 1.0,
        MeteorModule.Stem => 0.6,
        MeteorModule.Synonym => 0.8,
        MeteorModule.Paraphrase => 0.6,
        _ => throw new ArgumentOutOfRangeException(nameof(module), module, "Unknown Meteor module."),
    };

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentException">Naming the offending option and the allowed values.</exception>
    public void Validate()
    {
        if (Modules is null || Modules.Count == 0)
        {
            throw new ArgumentException("MeteorOptions.Modules must list at least one module (exact, stem, synonym, paraphrase).");
        }

        if (Modules.Distinct().Count() != Modules.Count)
        {
            throw new ArgumentException($"MeteorOptions.Modules lists a module twice: [{string.Join(", ", Modules)}].");
        }

        if (Modules.Any(m => !Enum.IsDefined(m)))
        {
            throw new ArgumentException("MeteorOptions.Modules contains an unknown module; allowed: Exact, Stem, Synonym, Paraphrase.");
        }

        if (Modules.Contains(MeteorModule.Synonym) && Synonyms is null)
        {
            throw new ArgumentException("MeteorOptions.Synonyms must be set when the Synonym module is used (see WordNetSynonymDictionary.Load).");
        }

        if (Modules.Contains(MeteorModule.Paraphrase) && Paraphrases is null)
        {
            throw new ArgumentException("MeteorOptions.Paraphrases must be set when the Paraphrase module is used (see MeteorParaphraseTable.Load).");
        }

        if (ModuleWeights is not null && ModuleWeights.Count != Modules.Count)
        {
            throw new ArgumentException($"MeteorOptions.ModuleWeights has {ModuleWeights.Count} entries but Modules has {Modules.Count}.");
        }

        if (BeamSize < 1)
        {
            throw new ArgumentException($"MeteorOptions.BeamSize must be at least 1 (got {BeamSize}).");
        }

        foreach (var (name, value) in new[] { ("Alpha", Alpha), ("Beta", Beta), ("Gamma", Gamma), ("Delta", Delta) })
        {
            if (double.IsNaN(value) || value < 0 || (name != "Beta" && value > 1))
            {
                throw new ArgumentException($"MeteorOptions.{name} = {value} is out of range ({(name == "Beta" ? "≥ 0" : "[0, 1]")}).");
            }
        }
    }

    /// <summary>The scoring weights actually used, one per module.</summary>
    internal double[] ResolvedWeights() => ModuleWeights?.ToArray() ?? Modules.Select(DefaultWeight).ToArray();
}
