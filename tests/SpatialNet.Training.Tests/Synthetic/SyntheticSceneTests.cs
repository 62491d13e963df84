using System.Globalization;
using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Synthetic;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Synthetic;

public sealed class SyntheticSceneTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>4-connected components of the pixels with one label: an independent object count.</summary>
    private static int Components(byte[] labels, int size, SceneObjectKind kind)
    {
        var label = (byte)((int)kind + 1);
        var seen = new bool[labels.Length];
        var components = 0;
        for (var start = 0; start < labels.Length; start++)
        {
            if (labels[start] != label || seen[start]) continue;
            components++;
            var stack = new Stack<int>([start]);
            seen[start] = true;
            while (stack.Count > 0)
            {
                var p = stack.Pop();
                int x = p % size, y = p / size;
                foreach (var (nx, ny) in new[] { (x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1) })
                {
                    if (nx < 0 || ny < 0 || nx >= size || ny >= size) continue;
                    var q = ny * size + nx;
                    if (labels[q] == label && !seen[q]) { seen[q] = true; stack.Push(q); }
                }
            }
        }
        return components;
    }

    [Fact]
    public void Same_seed_gives_the_same_scene_and_another_seed_a_different_one()
    {
        var a = new SyntheticSceneGenerator(new SyntheticSceneOptions { Seed = 5 }).Generate(3);
        var b = new SyntheticSceneGenerator(new SyntheticSceneOptions { Seed = 5 }).Generate(3);
        var c = new SyntheticSceneGenerator(new SyntheticSceneOptions { Seed = 6 }).Generate(3);

        b.Image.Pixels8.Should().Equal(a.Image.Pixels8);
        b.Captions.Should().Equal(a.Captions);
        b.Questions.Should().Equal(a.Questions);
        c.Image.Pixels8.Should().NotEqual(a.Image.Pixels8);
    }

    [Fact]
    public void Objects_are_separate_so_each_is_one_connected_region_of_its_colour_class()
    {
        var generator = new SyntheticSceneGenerator(new SyntheticSceneOptions { Seed = 1 });
        for (var i = 0; i < 40; i++)
        {
            var scene = generator.Generate(i);
            foreach (var kind in new[] { SceneObjectKind.Building, SceneObjectKind.Tree, SceneObjectKind.WaterArea })
                Components(scene.LabelMap, 64, kind).Should().Be(scene.Count(kind), $"scene {i}, {kind}");
            // Two roads cross each other: one region; one road: one region; none: none.
            Components(scene.LabelMap, 64, SceneObjectKind.Road).Should().Be(Math.Min(1, scene.Count(SceneObjectKind.Road)));
        }
    }

    [Fact]
    public void Objects_have_their_kinds_colours_so_they_are_visible()
    {
        var scene = new SyntheticSceneGenerator(new SyntheticSceneOptions { Seed = 2, NoiseAmplitude = 0 }).Generate(3); // built-up: has buildings
        scene.Count(SceneObjectKind.Building).Should().BeGreaterThanOrEqualTo(6);
        var plane = 64 * 64;
        var roofs = Enumerable.Range(0, plane).Where(i => scene.LabelMap[i] == 1).ToArray();
        roofs.Should().OnlyContain(i => scene.Image.Pixels8![i] > scene.Image.Pixels8![plane + i] + 80, "roofs are red");
        var background = Enumerable.Range(0, plane).Where(i => scene.LabelMap[i] == 0).ToArray();
        background.Should().OnlyContain(i => Math.Abs(scene.Image.Pixels8![i] - scene.Image.Pixels8![plane + i]) < 30, "built-up ground is grey");
    }

    [Fact]
    public void Answers_agree_with_the_drawn_content()
    {
        var generator = new SyntheticSceneGenerator(new SyntheticSceneOptions { Seed = 3 });
        for (var i = 0; i < 25; i++)
        {
            var scene = generator.Generate(i);
            var counts = SceneObjectKinds.All.ToDictionary(k => k, k => k == SceneObjectKind.Road ? scene.Count(k) : Components(scene.LabelMap, 64, k));
            scene.Questions.Select(q => q.Type).Distinct().Should().BeEquivalentTo(RsvqaQuestionTypeNames.LowResolutionTypes);
            foreach (var q in scene.Questions)
            {
                var kinds = SceneObjectKinds.All.Where(k => q.Text.Contains(k.Plural(), StringComparison.Ordinal) || q.Text.Contains(" " + k.Singular() + " ", StringComparison.Ordinal)).ToList();
                switch (q.Type)
                {
                    case RsvqaQuestionType.Count:
                        q.Answer.Should().Be(counts[kinds.Single()].ToString(CultureInfo.InvariantCulture), q.Text);
                        break;
                    case RsvqaQuestionType.Presence when !q.Text.Contains("part of the image", StringComparison.Ordinal):
                        q.Answer.Should().Be(counts[kinds.Single()] > 0 ? "yes" : "no", q.Text);
                        break;
                    case RsvqaQuestionType.Comparison when q.Text.StartsWith("Are there more", StringComparison.Ordinal):
                        var (a, b) = Pair(q.Text, "Are there more ", " than ");
                        q.Answer.Should().Be(counts[a] > counts[b] ? "yes" : "no", q.Text);
                        break;
                    case RsvqaQuestionType.RuralUrban:
                        q.Answer.Should().Be(counts[SceneObjectKind.Building] >= 6 ? "urban" : "rural");
                        break;
                }
            }
        }

        static (SceneObjectKind, SceneObjectKind) Pair(string text, string prefix, string middle)
        {
            var rest = text[prefix.Length..].TrimEnd('?');
            var parts = rest.Split(middle);
            return (SceneObjectKinds.All.Single(k => k.Plural() == parts[0]), SceneObjectKinds.All.Single(k => k.Plural() == parts[1]));
        }
    }

    [Fact]
    public void Writers_are_deterministic_byte_for_byte()
    {
        var options = new SyntheticSceneOptions { Seed = 9, ImageSize = 32 };
        foreach (var name in new[] { "a", "b" })
        {
            SyntheticDatasetWriter.WriteUcmCaption(_dir.Combine(name, "ucm"), new SyntheticSceneGenerator(options), imagesPerClass: 3);
            SyntheticDatasetWriter.WriteRsvqa(_dir.Combine(name, "rsvqa"), new SyntheticSceneGenerator(options), 4, 2);
        }

        var files = Directory.GetFiles(_dir.Combine("a"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_dir.Combine("a"), f)).Order().ToList();
        files.Should().Contain(Path.Combine("ucm", "dataset.json")).And.Contain(Path.Combine("rsvqa", "Images_LR", "5.tif"));
        Directory.GetFiles(_dir.Combine("b"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_dir.Combine("b"), f)).Order()
            .Should().Equal(files);
        foreach (var file in files)
            File.ReadAllBytes(_dir.Combine("b", file)).Should().Equal(File.ReadAllBytes(_dir.Combine("a", file)), file);
    }

    [Fact]
    public void Written_rsvqa_files_load_back_with_the_known_answers()
    {
        var generator = new SyntheticSceneGenerator(new SyntheticSceneOptions { Seed = 4 });
        var written = SyntheticDatasetWriter.WriteRsvqa(_dir.Path, generator, trainImages: 10, valImages: 5);

        var train = new RsvqaDataset(_dir.Path, "train", new RsvqaOptions { CountEncoding = RsvqaCountEncoding.Raw });
        var val = new RsvqaDataset(_dir.Path, "val");

        train.Images.Should().HaveCount(10);
        val.Images.Should().HaveCount(5);
        train.Count.Should().Be(written.Scenes.Take(10).Sum(s => s.Questions.Count));
        foreach (var q in train.Questions.Where(q => q.Type == RsvqaQuestionType.Count))
        {
            var scene = written.Scenes[q.ImageId];
            var kind = SceneObjectKinds.All.Single(k => q.Text.Contains(k.Plural(), StringComparison.Ordinal));
            var drawn = kind == SceneObjectKind.Road ? scene.Count(kind) : Components(scene.LabelMap, 64, kind);
            q.Count.Should().Be(drawn);
        }
        foreach (var q in val.Questions.Where(q => q.Type == RsvqaQuestionType.RuralUrban))
            q.Answer.Should().Be(written.Scenes[q.ImageId].IsUrban ? "urban" : "rural");
        train.LoadImage(3).Pixels8.Should().Equal(written.Scenes[3].Image.Pixels8);
        train.Questions.Should().Contain(q => !q.AllowGeometric);
    }

    [Fact]
    public void Written_ucm_caption_files_load_back_with_the_land_cover_classes()
    {
        var generator = new SyntheticSceneGenerator(new SyntheticSceneOptions { Seed = 8, ImageSize = 32 });
        var written = SyntheticDatasetWriter.WriteUcmCaption(_dir.Path, generator, imagesPerClass: 10, valFraction: 0.2, testFraction: 0.2);

        var train = new UcmCaptionDataset(_dir.Path, "train");
        var test = new UcmCaptionDataset(_dir.Path, "test");

        train.ClassNames.Should().Equal(SyntheticSceneGenerator.LandCoverClasses);
        train.Images.Should().HaveCount(5 * 6);
        test.Images.Should().HaveCount(5 * 2);
        foreach (var image in train.Images)
        {
            var scene = written.Scenes[written.FileIds.ToList().IndexOf(image.FileName)];
            image.ClassIndex.Should().Be(scene.LandCover);
            image.References(CaptionSource.Raw).Should().Equal(scene.Captions);
            image.Sentences.Should().OnlyContain(s => s.Raw.EndsWith(" .", StringComparison.Ordinal) && !s.Tokens.Contains("."));
        }
        using var sample = train.GetSample(0);
        sample[SampleKeys.Image].shape.Should().Equal(3, 32, 32);
    }

    [Fact]
    public void In_memory_dataset_exposes_every_target()
    {
        var dataset = new SyntheticSceneDataset(new SyntheticSceneGenerator(new SyntheticSceneOptions { Seed = 2 }), count: 6, firstIndex: 100);
        var scene = dataset.Scene(2);

        using var sample = dataset.GetSample(2);

        scene.Index.Should().Be(102);
        sample[SampleKeys.Label].item<long>().Should().Be(scene.LandCover);
        sample[SyntheticSceneDataset.UrbanKey].item<long>().Should().Be(scene.IsUrban ? 1 : 0);
        foreach (var kind in SceneObjectKinds.All)
        {
            sample[SyntheticSceneDataset.CountKey(kind)].item<float>().Should().Be(scene.Count(kind));
            sample[SyntheticSceneDataset.PresenceKey(kind)].item<long>().Should().Be(scene.Count(kind) > 0 ? 1 : 0);
        }
        SyntheticSceneDataset.CountKey(SceneObjectKind.WaterArea).Should().Be("count_water_area");
    }

    [Fact]
    public void Bad_options_name_the_option()
    {
        FluentActions.Invoking(() => new SyntheticSceneGenerator(new SyntheticSceneOptions { ImageSize = 16 }))
            .Should().Throw<ArgumentOutOfRangeException>().Which.Message.Should().Contain("ImageSize");
    }
}
