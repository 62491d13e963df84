using System.Globalization;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Randomness;

namespace SpatialNet.Training.Synthetic;

/// <summary>Options of <see cref="SyntheticSceneGenerator"/>.</summary>
public sealed record SyntheticSceneOptions
{
    /// <summary>Image side in pixels (square images; object sizes scale with it). Default 64, at least 32.</summary>
    public int ImageSize { get; init; } = 64;

    /// <summary>Seed of everything generated.</summary>
    public ulong Seed { get; init; }

    /// <summary>A scene with at least this many buildings is "urban", else "rural". Default 6.</summary>
    public int UrbanBuildingThreshold { get; init; } = 6;

    /// <summary>Per-pixel noise amplitude (uniform in ±amplitude per channel). Default 8.</summary>
    public int NoiseAmplitude { get; init; } = 8;

    /// <summary>Comparison questions per scene. Default 4.</summary>
    public int ComparisonQuestions { get; init; } = 4;

    /// <summary>Presence questions about a half of the image (left/right/top/bottom) per scene. Default 2.</summary>
    public int PositionQuestions { get; init; } = 2;

    /// <summary>
    /// Vary object sizes (buildings 4–7 px, trees radius 2–3.5, water ellipses 5–9 px radii at 64×64).
    /// Default false: every object of a kind has the same size (building 6×6, tree radius 3, water
    /// radius 6), so a count is proportional to the area of the kind's colour — a signal a tiny model
    /// learns in a minute on a CPU.
    /// </summary>
    public bool VaryObjectSizes { get; init; }

    /// <summary>The largest <see cref="ImageSize"/>: 4096×4096 RGB (48 MiB a scene); larger scenes are refused before anything is drawn.</summary>
    public const int MaxImageSize = 4096;

    internal void Validate()
    {
        if (ImageSize < 32) throw new ArgumentOutOfRangeException(nameof(ImageSize), $"SyntheticSceneOptions.ImageSize must be ≥ 32; got {ImageSize}.");
        if (ImageSize > MaxImageSize)
            throw new ResourceLimitException(nameof(ImageSize),
                $"Synthetic scene size (--size / SyntheticSceneOptions.ImageSize) = {ImageSize}; allowed: 32 to {MaxImageSize} pixels a side " +
                $"(a {ImageSize}×{ImageSize} RGB scene would need {MemoryBudget.Format(3.0 * ImageSize * ImageSize)} and more to draw).");
        if (UrbanBuildingThreshold < 1) throw new ArgumentOutOfRangeException(nameof(UrbanBuildingThreshold), $"SyntheticSceneOptions.UrbanBuildingThreshold must be ≥ 1; got {UrbanBuildingThreshold}.");
        if (NoiseAmplitude is < 0 or > 64) throw new ArgumentOutOfRangeException(nameof(NoiseAmplitude), $"SyntheticSceneOptions.NoiseAmplitude must be in [0, 64]; got {NoiseAmplitude}.");
        if (ComparisonQuestions < 0 || PositionQuestions < 0) throw new ArgumentOutOfRangeException(nameof(ComparisonQuestions), "Question counts must not be negative.");
    }
}

/// <summary>
/// A deterministic generator of remote-sensing-like scenes whose content is known exactly. Each scene
/// has a land-cover class (a background colour and texture), objects of four kinds — buildings, trees,
/// water areas, roads — placed without overlap so each is countable, an urban/rural label (from the
/// number of buildings), five template captions and questions of all four RSVQA-LR types whose
/// answers are computed from what was drawn. Colours are far apart and objects several pixels wide at
/// 64×64, so a tiny model learns every task on a CPU in about a minute. Scene i depends only on
/// (seed, i, class): the same options give the same bytes on every machine.
/// </summary>
public sealed class SyntheticSceneGenerator
{
    private sealed record LandCover(string Name, string Phrase, string Noun, byte[] Colour, byte[]? Stripe, bool Grid, (int Min, int Max)[] Counts);

    // Count ranges per kind, in SceneObjectKind order: building, tree, water area, road.
    private static readonly LandCover[] Classes =
    [
        new("cropland", "a farmland", "farmland", [196, 176, 84], [160, 146, 66], false, [(0, 3), (0, 4), (0, 1), (0, 1)]),
        new("grassland", "a grassland", "grassland", [150, 192, 112], null, false, [(0, 7), (2, 9), (0, 2), (0, 1)]),
        new("bare_soil", "a bare land", "bare land", [148, 108, 78], null, false, [(0, 4), (0, 3), (0, 1), (0, 2)]),
        new("built_up", "a built-up area", "built-up area", [172, 172, 168], null, true, [(6, 12), (0, 4), (0, 1), (1, 2)]),
        new("desert", "a desert", "desert", [230, 210, 162], null, false, [(0, 2), (0, 2), (0, 1), (0, 1)]),
    ];

    private static readonly byte[] RoofColour = [205, 40, 40];
    private static readonly byte[] RoofEdgeColour = [120, 22, 22];
    private static readonly byte[] TreeColour = [28, 118, 40];
    private static readonly byte[] WaterColour = [38, 88, 202];
    private static readonly byte[] RoadColour = [68, 68, 70];

    private static readonly string[] NumberWords =
    [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    ];

    /// <summary>Creates a generator.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (the message names it).</exception>
    public SyntheticSceneGenerator(SyntheticSceneOptions? options = null)
    {
        Options = options ?? new SyntheticSceneOptions();
        Options.Validate();
    }

    /// <summary>The land-cover class names (index = class label).</summary>
    public static IReadOnlyList<string> LandCoverClasses { get; } = Classes.Select(c => c.Name).ToArray();

    /// <summary>The options.</summary>
    public SyntheticSceneOptions Options { get; }

    /// <summary>Scene <paramref name="index"/> with land-cover class <c>index mod</c> (number of classes), so classes are balanced.</summary>
    public SyntheticScene Generate(int index) => Generate(index, index % Classes.Length);

    /// <summary>Scene <paramref name="index"/> of a given land-cover class.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The class or index is out of range.</exception>
    public SyntheticScene Generate(int index, int landCover)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (landCover < 0 || landCover >= Classes.Length)
            throw new ArgumentOutOfRangeException(nameof(landCover), $"Land-cover class must be in [0, {Classes.Length}); got {landCover}.");
        var spec = Classes[landCover];
        var random = SeededRandom.From(Options.Seed, (ulong)index, (ulong)landCover);
        var canvas = new Canvas(Options.ImageSize);
        PaintBackground(canvas, spec, random);

        var wanted = spec.Counts.Select(r => random.NextIntInclusive(r.Min, r.Max)).ToArray();
        var objects = new List<SceneObject>();
        PlaceRoads(canvas, wanted[(int)SceneObjectKind.Road], random, objects);
        PlaceWater(canvas, wanted[(int)SceneObjectKind.WaterArea], random, objects);
        PlaceBuildings(canvas, wanted[(int)SceneObjectKind.Building], random, objects);
        PlaceTrees(canvas, wanted[(int)SceneObjectKind.Tree], random, objects);
        canvas.AddNoise(Options.NoiseAmplitude, random);

        var counts = SceneObjectKinds.All.Select(k => objects.Count(o => o.Kind == k)).ToArray();
        var isUrban = counts[(int)SceneObjectKind.Building] >= Options.UrbanBuildingThreshold;
        var captions = Captions(spec, counts, isUrban);
        var questions = Questions(canvas, counts, isUrban, random);
        var image = RasterImage.FromBytes(canvas.Pixels, 3, canvas.Size, canvas.Size);
        return new SyntheticScene(index, landCover, spec.Name, image, canvas.Labels, objects, isUrban, captions, questions);
    }

    private int Px(double at64) => Math.Max(1, (int)Math.Round(at64 * Options.ImageSize / 64.0, MidpointRounding.AwayFromZero));

    private void PaintBackground(Canvas canvas, LandCover spec, SeededRandom random)
    {
        var vertical = random.NextBool();
        var half = Px(4);
        var grid = Px(16);
        for (var y = 0; y < canvas.Size; y++)
            for (var x = 0; x < canvas.Size; x++)
            {
                var colour = spec.Colour;
                if (spec.Stripe is not null && (vertical ? x : y) / half % 2 == 1) colour = spec.Stripe;
                if (spec.Grid && (x % grid == 0 || y % grid == 0)) colour = [(byte)(colour[0] - 22), (byte)(colour[1] - 22), (byte)(colour[2] - 22)];
                canvas.Paint(x, y, colour, (byte)0);
            }
    }

    private void PlaceRoads(Canvas canvas, int count, SeededRandom random, List<SceneObject> objects)
    {
        var width = Math.Max(2, Px(3));
        var margin = Px(6);
        var firstVertical = random.NextBool();
        for (var r = 0; r < count; r++)
        {
            // A second road crosses the first, so two roads never merge into one band.
            var vertical = r == 0 ? firstVertical : !firstVertical;
            var at = random.NextIntInclusive(margin, canvas.Size - margin - width);
            var (x, y, w, h) = vertical ? (at, 0, width, canvas.Size) : (0, at, canvas.Size, width);
            for (var yy = y; yy < y + h; yy++)
                for (var xx = x; xx < x + w; xx++)
                    canvas.Paint(xx, yy, RoadColour, SceneObjectKind.Road);
            objects.Add(new SceneObject(SceneObjectKind.Road, x, y, w, h));
        }
    }

    private void PlaceWater(Canvas canvas, int count, SeededRandom random, List<SceneObject> objects)
    {
        for (var placed = 0; placed < count; placed++)
        {
            for (var attempt = 0; attempt < 60; attempt++)
            {
                var rx = Options.VaryObjectSizes ? random.NextIntInclusive(Px(5), Px(9)) : Px(6);
                var ry = Options.VaryObjectSizes ? random.NextIntInclusive(Px(5), Px(9)) : rx;
                var cx = random.NextIntInclusive(rx + 1, canvas.Size - rx - 2);
                var cy = random.NextIntInclusive(ry + 1, canvas.Size - ry - 2);
                bool Inside(int x, int y, double grow) => Sq((x + 0.5 - cx) / (rx + grow)) + Sq((y + 0.5 - cy) / (ry + grow)) <= 1;
                if (!canvas.IsFree(cx - rx - 2, cy - ry - 2, 2 * rx + 4, 2 * ry + 4, (x, y) => Inside(x, y, 1.5))) continue;
                for (var y = cy - ry; y < cy + ry; y++)
                    for (var x = cx - rx; x < cx + rx; x++)
                        if (Inside(x, y, 0)) canvas.Paint(x, y, WaterColour, SceneObjectKind.WaterArea);
                objects.Add(new SceneObject(SceneObjectKind.WaterArea, cx - rx, cy - ry, 2 * rx, 2 * ry));
                break;
            }
        }
    }

    private void PlaceBuildings(Canvas canvas, int count, SeededRandom random, List<SceneObject> objects)
    {
        for (var placed = 0; placed < count; placed++)
        {
            for (var attempt = 0; attempt < 100; attempt++)
            {
                var side = Options.VaryObjectSizes ? random.NextIntInclusive(Math.Max(4, Px(4)), Math.Max(5, Px(7))) : Math.Max(4, Px(6));
                var x = random.NextIntInclusive(0, canvas.Size - side);
                var y = random.NextIntInclusive(0, canvas.Size - side);
                if (!canvas.IsFree(x - 1, y - 1, side + 2, side + 2)) continue;
                for (var yy = y; yy < y + side; yy++)
                    for (var xx = x; xx < x + side; xx++)
                    {
                        var edge = xx == x || yy == y || xx == x + side - 1 || yy == y + side - 1;
                        canvas.Paint(xx, yy, edge ? RoofEdgeColour : RoofColour, SceneObjectKind.Building);
                    }
                objects.Add(new SceneObject(SceneObjectKind.Building, x, y, side, side));
                break;
            }
        }
    }

    private void PlaceTrees(Canvas canvas, int count, SeededRandom random, List<SceneObject> objects)
    {
        for (var placed = 0; placed < count; placed++)
        {
            for (var attempt = 0; attempt < 100; attempt++)
            {
                var radius = Options.VaryObjectSizes ? random.NextIntInclusive(Math.Max(2, Px(2)), Math.Max(3, Px(3.5))) : Math.Max(2, Px(3));
                var x = random.NextIntInclusive(0, canvas.Size - 2 * radius);
                var y = random.NextIntInclusive(0, canvas.Size - 2 * radius);
                if (!canvas.IsFree(x - 1, y - 1, 2 * radius + 2, 2 * radius + 2)) continue;
                for (var yy = y; yy < y + 2 * radius; yy++)
                    for (var xx = x; xx < x + 2 * radius; xx++)
                        if (Sq(xx + 0.5 - x - radius) + Sq(yy + 0.5 - y - radius) <= radius * radius)
                            canvas.Paint(xx, yy, TreeColour, SceneObjectKind.Tree);
                objects.Add(new SceneObject(SceneObjectKind.Tree, x, y, 2 * radius, 2 * radius));
                break;
            }
        }
    }

    private static List<string> Captions(LandCover spec, int[] counts, bool isUrban)
    {
        string Phrase(SceneObjectKind k) => counts[(int)k] switch
        {
            0 => "no " + k.Plural(),
            1 => (k == SceneObjectKind.WaterArea ? "a " : "one ") + k.Singular(),
            var n => Number(n) + " " + k.Plural(),
        };
        var present = SceneObjectKinds.All.Where(k => counts[(int)k] > 0).Select(Phrase).ToList();
        var listed = present.Count switch
        {
            0 => "nothing on it",
            1 => present[0],
            _ => string.Join(" ", present.Take(present.Count - 1)) + " and " + present[^1],
        };
        var buildings = counts[(int)SceneObjectKind.Building];
        var total = counts.Sum();
        return
        [
            $"{spec.Phrase} with {listed} .",
            $"there {(buildings == 1 ? "is" : "are")} {Phrase(SceneObjectKind.Building)} in this {spec.Noun} .",
            counts[(int)SceneObjectKind.WaterArea] == 0 ? $"{spec.Phrase} without any water ." : $"{spec.Phrase} with {Phrase(SceneObjectKind.WaterArea)} .",
            $"this {(isUrban ? "urban" : "rural")} scene has {Phrase(SceneObjectKind.Tree)} and {Phrase(SceneObjectKind.Road)} .",
            $"{Number(total)} object{(total == 1 ? "" : "s")} {(total == 1 ? "lies" : "lie")} on the {spec.Noun} .",
        ];
    }

    private List<SyntheticQuestion> Questions(Canvas canvas, int[] counts, bool isUrban, SeededRandom random)
    {
        var questions = new List<SyntheticQuestion>
        {
            new(RsvqaQuestionType.RuralUrban, "Is it a rural or an urban area", isUrban ? "urban" : "rural"),
        };
        string YesNo(bool b) => b ? "yes" : "no";
        foreach (var k in SceneObjectKinds.All)
        {
            var text = random.NextInt(3) switch
            {
                0 => $"Is there a {k.Singular()} in the image?",
                1 => $"Is a {k.Singular()} present?",
                _ => $"Are there {k.Plural()}?",
            };
            questions.Add(new(RsvqaQuestionType.Presence, text, YesNo(counts[(int)k] > 0)));
        }
        foreach (var k in SceneObjectKinds.All)
        {
            var text = random.NextInt(3) switch
            {
                0 => $"How many {k.Plural()} are there?",
                1 => $"What is the number of {k.Plural()}?",
                _ => $"What is the amount of {k.Plural()} in the image?",
            };
            questions.Add(new(RsvqaQuestionType.Count, text, counts[(int)k].ToString(CultureInfo.InvariantCulture)));
        }
        var areas = SceneObjectKinds.All.Select(k => canvas.Labels.Count(v => v == (byte)((int)k + 1))).ToArray();
        for (var i = 0; i < Options.ComparisonQuestions; i++)
        {
            var a = SceneObjectKinds.All[random.NextInt(4)];
            var b = SceneObjectKinds.All[(int)(a + 1 + random.NextInt(3)) % 4];
            int ca = counts[(int)a], cb = counts[(int)b];
            questions.Add(random.NextInt(4) switch
            {
                0 => new(RsvqaQuestionType.Comparison, $"Are there more {a.Plural()} than {b.Plural()}?", YesNo(ca > cb)),
                1 => new(RsvqaQuestionType.Comparison, $"Are there less {a.Plural()} than {b.Plural()}?", YesNo(ca < cb)),
                2 => new(RsvqaQuestionType.Comparison, $"Is the number of {a.Plural()} equal to the number of {b.Plural()}?", YesNo(ca == cb)),
                _ => new(RsvqaQuestionType.Comparison, $"Is the area covered by {a.Plural()} larger than the area covered by {b.Plural()}?", YesNo(areas[(int)a] > areas[(int)b])),
            });
        }
        string[] halves = ["left", "right", "top", "bottom"];
        for (var i = 0; i < Options.PositionQuestions; i++)
        {
            var k = SceneObjectKinds.All[random.NextInt(4)];
            var half = halves[random.NextInt(4)];
            questions.Add(new(RsvqaQuestionType.Presence, $"Is there a {k.Singular()} in the {half} part of the image?", YesNo(canvas.AnyInHalf(k, half))));
        }
        return questions;
    }

    private static string Number(int n) => n < NumberWords.Length ? NumberWords[n] : n.ToString(CultureInfo.InvariantCulture);

    private static double Sq(double v) => v * v;

    private sealed class Canvas(int size)
    {
        public int Size { get; } = size;

        public byte[] Pixels { get; } = new byte[3 * size * size];

        public byte[] Labels { get; } = new byte[size * size];

        public void Paint(int x, int y, byte[] colour, SceneObjectKind kind) => Paint(x, y, colour, (byte)((int)kind + 1));

        public void Paint(int x, int y, byte[] colour, byte label)
        {
            var i = y * Size + x;
            var plane = Size * Size;
            Pixels[i] = colour[0];
            Pixels[plane + i] = colour[1];
            Pixels[2 * plane + i] = colour[2];
            Labels[i] = label;
        }

        /// <summary>True when every pixel of the box (clipped to the image) that passes the filter is background.</summary>
        public bool IsFree(int x, int y, int w, int h, Func<int, int, bool>? within = null)
        {
            for (var yy = Math.Max(0, y); yy < Math.Min(Size, y + h); yy++)
                for (var xx = Math.Max(0, x); xx < Math.Min(Size, x + w); xx++)
                    if (Labels[yy * Size + xx] != 0 && (within is null || within(xx, yy))) return false;
            return true;
        }

        public bool AnyInHalf(SceneObjectKind kind, string half)
        {
            var label = (byte)((int)kind + 1);
            var mid = Size / 2;
            for (var y = 0; y < Size; y++)
                for (var x = 0; x < Size; x++)
                {
                    if (Labels[y * Size + x] != label) continue;
                    var inside = half switch { "left" => x < mid, "right" => x >= mid, "top" => y < mid, _ => y >= mid };
                    if (inside) return true;
                }
            return false;
        }

        public void AddNoise(int amplitude, SeededRandom random)
        {
            if (amplitude == 0) return;
            for (var i = 0; i < Pixels.Length; i++)
                Pixels[i] = (byte)Math.Clamp(Pixels[i] + random.NextIntInclusive(-amplitude, amplitude), 0, 255);
        }
    }
}
