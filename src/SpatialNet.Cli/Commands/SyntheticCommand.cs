using System.CommandLine;
using SpatialNet.Training.Data;
using SpatialNet.Training.Synthetic;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet synthetic</c>: writes a seeded synthetic dataset in a distributed format.</summary>
internal static class SyntheticCommand
{
    public static Command Create()
    {
        var format = new Option<string>("--format", "-f") { Description = "Dataset format.", Required = true }.OneOf("ucm-caption", "rsvqa", "segmentation");
        var output = new Option<string>("--out", "-o") { Description = "Folder to write.", Required = true, HelpName = "DIR" };
        var count = new Option<int>("--count", "-n") { Description = "Number of scenes (ucm-caption: rounded up to a multiple of the 5 land-cover classes).", DefaultValueFactory = _ => 100, HelpName = "N" };
        count.AtLeast(1, _ => "--count must be a positive number of scenes");
        var size = new Option<int>("--size") { Description = "Scene width and height in pixels (at least 32).", DefaultValueFactory = _ => 64, HelpName = "PIXELS" };
        size.AtLeast(32, v => $"--size {v} is below the smallest scene size, 32");
        var seed = new Option<ulong>("--seed") { Description = "Generator seed.", DefaultValueFactory = _ => 1UL };
        var command = new Command("synthetic",
            "Write synthetic scenes in the UCM-caption format (dataset.json + imgs/; 80/10/10 % train/val/test per class) or the RSVQA-LR format "
            + "(LR_split_*_{images,questions,answers}.json + Images_LR/; 80/10/10 % of the images) or mmsegmentation's segmentation layout "
            + "(img_dir/{train,val,test}/n.png + ann_dir/{train,val,test}/n.png masks of object footprints + classes.json; 80/10/10 %), with synthetic_truth.json. "
            + "Val and test get at least one image (per class) from 3 images (per class) on.")
        {
            format, output, count, size, seed,
        };
        command.SetAction(parse =>
        {
            var f = parse.GetRequiredValue(format);
            var dir = Path.GetFullPath(parse.GetRequiredValue(output));
            int n = parse.GetValue(count);
            int s = parse.GetValue(size);
            var generator = new SyntheticSceneGenerator(new SyntheticSceneOptions { ImageSize = s, Seed = parse.GetValue(seed) });
            SyntheticWriteResult written;
            if (f == "ucm-caption")
            {
                int classes = SyntheticSceneGenerator.LandCoverClasses.Count;
                written = SyntheticDatasetWriter.WriteUcmCaption(dir, generator, n / classes + (n % classes == 0 ? 0 : 1));
            }
            else if (f == "segmentation")
            {
                int val = SyntheticDatasetWriter.SplitCount(n, 0.1);
                int test = SyntheticDatasetWriter.SplitCount(n, 0.1);
                written = SyntheticDatasetWriter.WriteSegmentation(dir, generator, Math.Max(1, n - val - test), n - val - test < 1 ? 0 : val, n - val - test < 1 ? 0 : test);
            }
            else
            {
                int val = SyntheticDatasetWriter.SplitCount(n, 0.1);
                int test = SyntheticDatasetWriter.SplitCount(n, 0.1);
                written = SyntheticDatasetWriter.WriteRsvqa(dir, generator, Math.Max(1, n - val - test), val, n - val - test < 1 ? 0 : test);
            }
            var o = parse.Output();
            var perSplit = written.Splits.GroupBy(x => x).Select(g => $"{g.Key} {g.Count()}");
            o.WriteLine($"wrote {written.Scenes.Count} {s}×{s} scenes ({string.Join(", ", perSplit)}) in the {f} format to {dir}");
            if (f == "rsvqa")
                o.WriteLine($"questions: {written.Scenes.Sum(x => x.Questions.Count)} ({string.Join(", ", RsvqaQuestionTypeNames.LowResolutionTypes.Select(t => t.ToWireName()))})");
            return 0;
        });
        return command;
    }
}
