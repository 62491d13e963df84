using SpatialNet.IO;
using System.Globalization;
using System.Text.Json.Nodes;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Randomness;

namespace SpatialNet.Training.Synthetic;

/// <summary>What <see cref="SyntheticDatasetWriter"/> wrote.</summary>
/// <param name="Root">The dataset folder.</param>
/// <param name="Scenes">Every scene written, with its truth, in file order.</param>
/// <param name="Splits">Split of each scene (same order as <paramref name="Scenes"/>).</param>
/// <param name="FileIds">File name (UCM: "n.tif") or image id (RSVQA: "n") of each scene.</param>
public sealed record SyntheticWriteResult(string Root, IReadOnlyList<SyntheticScene> Scenes, IReadOnlyList<string> Splits, IReadOnlyList<string> FileIds);

/// <summary>
/// Writes synthetic scenes in the real datasets' file formats, so the same loaders read them:
/// UCM-captions (<c>dataset.json</c> in Karpathy's format + <c>imgs/n.tif</c>) and RSVQA
/// (<c>LR_split_{split}_{images,questions,answers}.json</c> + <c>Images_LR/&lt;id&gt;.tif</c>). Images are
/// uncompressed 8-bit RGB TIFF strips, like the RSVQA-LR release. Beside them,
/// <see cref="TruthFileName"/> records each scene's class, counts, area fractions and urban label.
/// Output bytes depend only on the generator options and the arguments.
/// </summary>
public static class SyntheticDatasetWriter
{
    /// <summary>Name of the file holding the generator's ground truth.</summary>
    public const string TruthFileName = "synthetic_truth.json";

    // Refuses a set that cannot fit on the disk before writing any image: scenes × size² × 3 bytes (uncompressed, an upper bound).
    private static void EnsureRoom(string root, long scenes, int imageSize)
    {
        double bytes = (double)scenes * imageSize * imageSize * 3;
        long free;
        try
        {
            // Measured at the nearest folder that exists, so nothing is created for a set that is refused.
            var existing = new DirectoryInfo(Path.GetFullPath(root));
            while (!existing.Exists && existing.Parent is { } parent)
                existing = parent;
            free = new DriveInfo(existing.FullName).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return;   // no free-space figure for this file system: write and let the disk tell
        }
        if (bytes > free)
            throw new ResourceLimitException("count",
                $"Synthetic data set (--count / images): {scenes} scenes of {imageSize}×{imageSize} would need up to {MemoryBudget.Format(bytes)} on disk, " +
                $"more than the {MemoryBudget.Format(free)} free at '{root}'; choose fewer or smaller scenes.");
    }

    /// <summary>
    /// Writes a UCM-caption-format dataset: <paramref name="imagesPerClass"/> images of each land-cover
    /// class, numbered class by class (so the loader's image-number rule recovers the class, with
    /// class list and images-per-class recorded in dataset.json's <c>spatialnet</c> block), split per
    /// class at random (seeded) into test, val and train by the given fractions (rounded; a positive
    /// fraction gets at least one image of each class that has 3 or more).
    /// </summary>
    public static SyntheticWriteResult WriteUcmCaption(string root, SyntheticSceneGenerator generator, int imagesPerClass,
        double valFraction = 0.1, double testFraction = 0.1, string imagesFolder = "imgs")
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(generator);
        if (imagesPerClass <= 0) throw new ArgumentOutOfRangeException(nameof(imagesPerClass), $"imagesPerClass must be positive; got {imagesPerClass}.");
        if (valFraction < 0 || testFraction < 0 || valFraction + testFraction > 1)
            throw new ArgumentOutOfRangeException(nameof(valFraction), $"Need val ≥ 0, test ≥ 0 and val + test ≤ 1; got {valFraction} and {testFraction}.");
        var classes = SyntheticSceneGenerator.LandCoverClasses;
        EnsureRoom(root, (long)imagesPerClass * classes.Count, generator.Options.ImageSize);
        Directory.CreateDirectory(Path.Combine(root, imagesFolder));

        var scenes = new List<SyntheticScene>();
        var splits = new List<string>();
        var names = new List<string>();
        var images = new JsonArray();
        var nTest = SplitCount(imagesPerClass, testFraction);
        var nVal = SplitCount(imagesPerClass, valFraction);
        for (var c = 0; c < classes.Count; c++)
        {
            var order = SeededRandom.From(generator.Options.Seed, 0x55434D, (ulong)c).Permutation(imagesPerClass);
            var splitOf = new string[imagesPerClass];
            for (var r = 0; r < imagesPerClass; r++) splitOf[order[r]] = r < nTest ? "test" : r < nTest + nVal ? "val" : "train";
            for (var j = 0; j < imagesPerClass; j++)
            {
                var number = c * imagesPerClass + j + 1;
                var scene = generator.Generate(number - 1, c);
                var fileName = number.ToString(CultureInfo.InvariantCulture) + ".tif";
                TiffImageCodec.Write(Path.Combine(root, imagesFolder, fileName), scene.Image);
                var sentences = new JsonArray();
                var sentIds = new JsonArray();
                for (var k = 0; k < scene.Captions.Count; k++)
                {
                    var sentId = (number - 1) * scene.Captions.Count + k;
                    var raw = scene.Captions[k];
                    var tokens = raw.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(t => t != ".").Select(t => (JsonNode?)t).ToArray();
                    sentences.Add(new JsonObject { ["tokens"] = new JsonArray(tokens), ["raw"] = raw, ["imgid"] = number - 1, ["sentid"] = sentId });
                    sentIds.Add(sentId);
                }
                images.Add(new JsonObject
                {
                    ["sentids"] = sentIds,
                    ["imgid"] = number - 1,
                    ["sentences"] = sentences,
                    ["split"] = splitOf[j],
                    ["filename"] = fileName,
                });
                scenes.Add(scene);
                splits.Add(splitOf[j]);
                names.Add(fileName);
            }
        }
        var dataset = new JsonObject
        {
            ["images"] = images,
            ["dataset"] = "synthetic",
            ["spatialnet"] = new JsonObject
            {
                ["class_names"] = new JsonArray(classes.Select(n => (JsonNode?)n).ToArray()),
                ["images_per_class"] = imagesPerClass,
                ["generator"] = OptionsJson(generator.Options),
            },
        };
        WriteJson(Path.Combine(root, UcmCaptionDataset.AnnotationFileName), dataset);
        WriteTruth(root, generator, scenes, names);
        return new SyntheticWriteResult(root, scenes, splits, names);
    }

    /// <summary>
    /// Images that a split of <paramref name="fraction"/> receives out of <paramref name="images"/>:
    /// the rounded share, but at least one when the fraction is positive and there are 3 or more
    /// images, so that small datasets still get val and test images while train keeps at least one.
    /// </summary>
    public static int SplitCount(int images, double fraction)
    {
        var n = (int)Math.Round(images * fraction, MidpointRounding.AwayFromZero);
        return fraction > 0 && n == 0 && images >= 3 ? 1 : n;
    }

    /// <summary>
    /// Writes an RSVQA-format dataset: scenes 0…N−1 (land-cover class = index mod classes), the first
    /// <paramref name="trainImages"/> in train, then val, then test; image id = scene index, question and
    /// answer ids consecutive across splits. Splits with no images get no files.
    /// </summary>
    public static SyntheticWriteResult WriteRsvqa(string root, SyntheticSceneGenerator generator, int trainImages, int valImages,
        int testImages = 0, RsvqaVariant? variant = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(generator);
        if (trainImages < 0 || valImages < 0 || testImages < 0 || (long)trainImages + valImages + testImages == 0)
            throw new ArgumentOutOfRangeException(nameof(trainImages), $"Image counts must be non-negative with a positive total; got {trainImages}, {valImages}, {testImages}.");
        variant ??= RsvqaVariant.LowResolution;
        EnsureRoom(root, (long)trainImages + valImages + testImages, generator.Options.ImageSize);
        Directory.CreateDirectory(Path.Combine(root, variant.ImageFolder));
        var scenes = new List<SyntheticScene>();
        var splits = new List<string>();
        var ids = new List<string>();
        var questionId = 0;
        var index = 0;
        foreach (var (split, count) in new[] { ("train", trainImages), ("val", valImages), ("test", testImages) })
        {
            if (count == 0) continue;
            var images = new JsonArray();
            var questions = new JsonArray();
            var answers = new JsonArray();
            for (var i = 0; i < count; i++, index++)
            {
                var scene = generator.Generate(index);
                var id = index.ToString(CultureInfo.InvariantCulture);
                TiffImageCodec.Write(Path.Combine(root, variant.ImageFolder, id + ".tif"), scene.Image);
                var questionIds = new JsonArray();
                foreach (var q in scene.Questions)
                {
                    questions.Add(new JsonObject
                    {
                        ["id"] = questionId,
                        ["img_id"] = index,
                        ["type"] = q.Type.ToWireName(),
                        ["question"] = q.Text,
                        ["answers_ids"] = new JsonArray(questionId),
                        ["active"] = true,
                    });
                    answers.Add(new JsonObject { ["id"] = questionId, ["question_id"] = questionId, ["answer"] = q.Answer, ["active"] = true });
                    questionIds.Add(questionId);
                    questionId++;
                }
                images.Add(new JsonObject
                {
                    ["id"] = index,
                    ["original_name"] = $"synthetic_{id}.tif",
                    ["sensor"] = "synthetic",
                    ["type"] = "RGB",
                    ["questions_ids"] = questionIds,
                    ["active"] = true,
                });
                scenes.Add(scene);
                splits.Add(split);
                ids.Add(id);
            }
            WriteJson(RsvqaDataset.FilePath(root, variant, split, "images"), new JsonObject { ["images"] = images });
            WriteJson(RsvqaDataset.FilePath(root, variant, split, "questions"), new JsonObject { ["questions"] = questions });
            WriteJson(RsvqaDataset.FilePath(root, variant, split, "answers"), new JsonObject { ["answers"] = answers });
        }
        WriteTruth(root, generator, scenes, ids);
        return new SyntheticWriteResult(root, scenes, splits, ids);
    }

    /// <summary>Names of the segmentation classes: "background", then each <see cref="SceneObjectKind"/> (label = 1 + kind).</summary>
    internal static IReadOnlyList<string> SegmentationClassNames { get; } = ["background", .. SceneObjectKinds.All.Select(k => k.Identifier())];

    // Background, building, tree, water area, road: close to the colours the generator paints.
    private static readonly int[][] SegmentationPalette = [[128, 128, 128], [200, 40, 40], [20, 110, 30], [40, 90, 220], [60, 60, 60]];

    /// <summary>
    /// Writes a segmentation dataset in mmsegmentation's custom layout: <c>img_dir/{split}/n.png</c> (RGB),
    /// <c>ann_dir/{split}/n.png</c> (one band: 0 background, 1 + <see cref="SceneObjectKind"/> for each object's
    /// footprint), <c>classes.json</c> (names, palette); scenes 0…N−1 in train, then val, then test.
    /// </summary>
    internal static SyntheticWriteResult WriteSegmentation(string root, SyntheticSceneGenerator generator, int trainImages, int valImages, int testImages = 0)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(generator);
        if (trainImages < 1 || valImages < 0 || testImages < 0)
            throw new ArgumentOutOfRangeException(nameof(trainImages), $"At least one training image and non-negative val/test counts are needed; got {trainImages}, {valImages}, {testImages}.");
        EnsureRoom(root, (long)trainImages + valImages + testImages, generator.Options.ImageSize);
        var scenes = new List<SyntheticScene>();
        var splits = new List<string>();
        var ids = new List<string>();
        var index = 0;
        foreach (var (split, count) in new[] { ("train", trainImages), ("val", valImages), ("test", testImages) })
        {
            if (count == 0) continue;
            var images = Directory.CreateDirectory(Path.Combine(root, "img_dir", split)).FullName;
            var masks = Directory.CreateDirectory(Path.Combine(root, "ann_dir", split)).FullName;
            for (var i = 0; i < count; i++, index++)
            {
                var scene = generator.Generate(index);
                var id = index.ToString(CultureInfo.InvariantCulture);
                int size = scene.Image.Height;
                var png = SkiaImageCodec.EncodePng(scene.Image);
                AtomicFile.Write(Path.Combine(images, id + ".png"), s => s.Write(png));
                var mask = SkiaImageCodec.EncodePng(RasterImage.FromBytes(scene.LabelMap, 1, size, size));
                AtomicFile.Write(Path.Combine(masks, id + ".png"), s => s.Write(mask));
                scenes.Add(scene);
                splits.Add(split);
                ids.Add(id);
            }
        }
        WriteJson(Path.Combine(root, SegmentationClasses.FileName), new JsonObject
        {
            ["classes"] = new JsonArray([.. SegmentationClassNames.Select(n => (JsonNode?)n)]),
            ["palette"] = new JsonArray([.. SegmentationPalette.Select(c => (JsonNode?)new JsonArray([.. c.Select(v => (JsonNode?)v)]))]),
        });
        WriteTruth(root, generator, scenes, ids);
        return new SyntheticWriteResult(root, scenes, splits, ids);
    }

    private static JsonObject OptionsJson(SyntheticSceneOptions o) => new()
    {
        ["image_size"] = o.ImageSize,
        ["seed"] = o.Seed,
        ["urban_building_threshold"] = o.UrbanBuildingThreshold,
        ["noise_amplitude"] = o.NoiseAmplitude,
        ["comparison_questions"] = o.ComparisonQuestions,
        ["position_questions"] = o.PositionQuestions,
        ["vary_object_sizes"] = o.VaryObjectSizes,
    };

    private static void WriteTruth(string root, SyntheticSceneGenerator generator, IReadOnlyList<SyntheticScene> scenes, IReadOnlyList<string> ids)
    {
        var entries = new JsonArray();
        for (var i = 0; i < scenes.Count; i++)
        {
            var s = scenes[i];
            var counts = new JsonObject();
            var areas = new JsonObject();
            foreach (var k in SceneObjectKinds.All)
            {
                counts[k.Identifier()] = s.Count(k);
                areas[k.Identifier()] = s.AreaFractions[(int)k];
            }
            entries.Add(new JsonObject
            {
                ["file"] = ids[i],
                ["scene_index"] = s.Index,
                ["land_cover"] = s.LandCover,
                ["land_cover_name"] = s.LandCoverName,
                ["urban"] = s.IsUrban,
                ["counts"] = counts,
                ["area_fractions"] = areas,
            });
        }
        WriteJson(Path.Combine(root, TruthFileName), new JsonObject
        {
            ["generator"] = OptionsJson(generator.Options),
            ["class_names"] = new JsonArray(SyntheticSceneGenerator.LandCoverClasses.Select(n => (JsonNode?)n).ToArray()),
            ["images"] = entries,
        });
    }

    private static void WriteJson(string path, JsonNode node) =>
        AtomicFile.WriteAllText(path, node.ToJsonString());
}
