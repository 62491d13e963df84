using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace SpatialNet.Training.Tests.Cli;

public class CliTests
{
    private static readonly string MetricsDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "metrics");

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int code = SpatialNet.Cli.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static void AssertClose(double actual, double expected, string what)
    {
        Math.Abs(actual - expected).Should().BeLessThanOrEqualTo(1e-12 * Math.Max(1, Math.Abs(expected)), what);
        if (expected != 0) (Math.Abs(actual - expected) / Math.Abs(expected)).Should().BeLessThanOrEqualTo(1e-9, what);
    }

    [Theory]
    [InlineData("simple", "refs", "cands", "simple")]
    [InlineData("ptb", "refs_ptb", "cands_ptb", "pretokenized")]
    public void MetricsCaptionsReproducesThePublicCocoValues(string set, string refKey, string candKey, string tokenization)
    {
        var captions = Path.Combine(MetricsDir, "public_captions.json");
        var (code, stdout, stderr) = Run("metrics", "captions", "--references", captions, "--candidates", captions,
            "--references-key", refKey, "--candidates-key", candKey, "--tokenization", tokenization, "--json");
        code.Should().Be(0, stderr);

        using var got = JsonDocument.Parse(stdout);
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(MetricsDir, "public_expected.json")));
        var exp = expected.RootElement.GetProperty(set);
        foreach (var metric in exp.GetProperty("corpus").EnumerateObject())
            AssertClose(got.RootElement.GetProperty("corpus").GetProperty(metric.Name).GetDouble(), metric.Value.GetDouble(), $"corpus {metric.Name}");
        foreach (var image in exp.GetProperty("per_image").EnumerateObject())
        {
            foreach (var metric in image.Value.EnumerateObject().Where(m => m.Value.ValueKind == JsonValueKind.Number))
            {
                var actual = got.RootElement.GetProperty("per_image").GetProperty(image.Name).GetProperty(metric.Name).GetDouble();
                AssertClose(actual, metric.Value.GetDouble(), $"{image.Name} {metric.Name}");
            }
        }
    }

    [Fact]
    public void MetricsCaptionsReproducesStockMeteorExactStem()
    {
        var captions = Path.Combine(MetricsDir, "public_captions.json");
        var (code, stdout, stderr) = Run("metrics", "captions", "--references", captions, "--candidates", captions, "--json");
        code.Should().Be(0, stderr);
        using var got = JsonDocument.Parse(stdout);
        using var meteor = JsonDocument.Parse(File.ReadAllText(Path.Combine(MetricsDir, "public_meteor.json")));
        var expected = meteor.RootElement.GetProperty("module_sets").GetProperty("exact_stem").GetProperty("corpus").GetDouble();
        AssertClose(got.RootElement.GetProperty("corpus").GetProperty("METEOR").GetDouble(), expected, "METEOR corpus");
    }

    [Fact]
    public void MetricsVqaScoresPerTypeAndAverages()
    {
        var file = Path.GetTempFileName();
        try
        {
            // count: "5" vs "7" fall in the same bin (1-10) -> right; "0" vs "3" -> wrong. presence: 2 of 3 right.
            File.WriteAllText(file, """
                [{"type":"count","expected":"5","predicted":"7"},
                 {"type":"count","expected":"0","predicted":"3"},
                 {"type":"presence","expected":"yes","predicted":"yes"},
                 {"type":"presence","expected":"no","predicted":"no"},
                 {"type":"presence","expected":"no","predicted":"yes"}]
                """);
            var (code, stdout, stderr) = Run("metrics", "vqa", "--answers", file, "--json");
            code.Should().Be(0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            doc.RootElement.GetProperty("per_type").GetProperty("count").GetProperty("accuracy").GetDouble().Should().Be(0.5);
            doc.RootElement.GetProperty("per_type").GetProperty("presence").GetProperty("accuracy").GetDouble().Should().BeApproximately(2.0 / 3, 1e-15);
            doc.RootElement.GetProperty("AA").GetDouble().Should().BeApproximately((0.5 + 2.0 / 3) / 2, 1e-15);
            doc.RootElement.GetProperty("OA").GetDouble().Should().BeApproximately(3.0 / 5, 1e-15);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void MetricsVqaRejectsAnUnknownQuestionTypeNamingTheField()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, """[{"type":"area","expected":"1","predicted":"1"}]""");
            var (code, _, stderr) = Run("metrics", "vqa", "--answers", file);
            code.Should().Be(1);
            stderr.Should().Contain(file).And.Contain("answers[0].type").And.Contain("area");
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void MetricsVqaRefusesACountTruthThatIsNotACount_NamingTheFileAndField()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, """[{"type":"count","expected":"3","predicted":"3"},{"type":"count","expected":"many","predicted":"many"}]""");
            var (code, _, stderr) = Run("metrics", "vqa", "--answers", file);
            code.Should().Be(1);
            stderr.Should().Contain(file).And.Contain("answers[1].expected").And.Contain("'many'").And.NotContain("Parameter");
            // Scored exactly, strings are compared as asked: both right.
            var (exact, stdout, _) = Run("metrics", "vqa", "--answers", file, "--no-count-bins", "--json");
            exact.Should().Be(0);
            JsonDocument.Parse(stdout).RootElement.GetProperty("OA").GetDouble().Should().Be(1);
        }
        finally { File.Delete(file); }
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("metrics", "captions", "--references")]
    [InlineData("metrics", "captions", "--candidates", "x.json")]
    [InlineData("weights", "inspect", "a", "--frobnicate", "1")]
    [InlineData("synthetic", "--format", "coco", "--out", "x")]
    [InlineData("synthetic", "--format", "rsvqa", "--out", "x", "--size", "16")]
    [InlineData("metrics", "captions", "--references", "r.json", "--candidates", "c.json", "--wordnet-synsets", "s")]
    public void BadCommandLinesExitWithTwoAndSayWhy(params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        code.Should().Be(2);
        stderr.Should().StartWith("spatialnet: ").And.Contain("--help");
        stdout.Should().BeEmpty("errors go to standard error");
    }

    [Fact]
    public void VersionExitsZeroAndPrintsTheAssemblyVersion()
    {
        var (code, stdout, _) = Run("--version");
        code.Should().Be(0);
        var expected = typeof(SpatialNet.Cli.Cli).Assembly.GetName().Version!;
        stdout.Trim().Should().StartWith($"{expected.Major}.{expected.Minor}.{expected.Build}");
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("-?")]
    public void EachCommandHasItsOwnHelp(string help)
    {
        var (rootCode, root, _) = Run(help);
        var (trainCode, train, _) = Run("train", help);
        var (captionsCode, captions, _) = Run("metrics", "captions", help);
        (rootCode, trainCode, captionsCode).Should().Be((0, 0, 0));
        root.Should().Contain("train").And.Contain("weights").And.NotContain("--max-steps");
        train.Should().Contain("spatialnet train [options]").And.Contain("--max-steps").And.Contain("--config");
        captions.Should().Contain("--references").And.NotContain("--max-steps");
    }

    [Theory]
    [InlineData("'--epoch'", "'--epochs'", "train", "--config", "x.json", "--epoch", "3")]
    [InlineData("'--confg'", "'--config'", "train", "--confg", "x.json")]
    [InlineData("'--refrences'", "'--references'", "metrics", "captions", "--refrences", "r.json", "--candidates", "c.json")]
    [InlineData("'trian'", "'train'", "trian")]
    [InlineData("'inspct'", "'inspect'", "weights", "inspct", "a.safetensors")]
    public void AMisspeltWordIsNamedWithASuggestion_NotAsAMissingRequiredOne(string word, string suggestion, params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        code.Should().Be(2);
        stdout.Should().BeEmpty();
        stderr.Should().Contain(word).And.Contain(suggestion);
        stderr.Should().NotContainEquivalentOf("required", "the misspelling is the error, not a missing option or command");
        stderr.Should().NotContain(".json'", "the misspelt option's value is not a second unknown word");
    }

    [Theory]
    [InlineData("kitten", "sitting", 3)]   // the textbook Levenshtein example
    [InlineData("trian", "train", 1)]      // one adjacent transposition
    [InlineData("--confg", "--config", 1)]
    [InlineData("inspect", "inspect", 0)]
    public void EditDistanceCountsEditsAndAdjacentTranspositions(string a, string b, int expected) =>
        SpatialNet.Cli.Hosting.CommandLineErrors.EditDistance(a, b).Should().Be(expected);

    [Theory]
    [InlineData("'-3x'", "train", "--config", "x.json", "--epochs", "-3x")]
    [InlineData("'many'", "train", "--config", "x.json", "--max-steps", "many")]
    [InlineData("'big'", "synthetic", "--format", "rsvqa", "--out", "x", "--size", "big")]
    public void ANumberOptionGivenAWordIsABadCommandLine_NotACrash(string word, params string[] args)
    {
        var (code, _, stderr) = Run(args);
        code.Should().Be(2);
        stderr.Should().StartWith("spatialnet: ").And.Contain(word).And.Contain("--help");
        stderr.Should().Contain($"{word} is not a whole number").And.NotContain("System.", "the user is told what the option takes, not a .NET type");
    }

    [Fact]
    public void CompletionsOfferCommandsAndTheCommandsOwnOptions()
    {
        var root = SpatialNet.Cli.Cli.CreateRootCommand();

        var commands = root.Parse("tr").GetCompletions().Select(c => c.Label).ToList();
        commands.Should().Contain("train").And.NotContain("evaluate", "only what starts with the typed word");

        var options = root.Parse("train --").GetCompletions().Select(c => c.Label).ToList();
        options.Should().Contain(["--config", "--epochs", "--max-steps", "--resume", "--help"]);
        options.Should().NotContain("--references", "another command's option");
    }

    [Fact]
    public void TheSuggestDirectivePrintsCompletionsForTheShell()
    {
        // What dotnet-suggest runs on Tab: [suggest:<cursor>] "<command line>".
        var (code, stdout, stderr) = Run("[suggest:2]", "tr");
        code.Should().Be(0, stderr);
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Should().Contain("train");
    }

    [Fact]
    public void AResponseFileSuppliesArguments()
    {
        var file = Path.GetTempFileName();
        var rsp = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, """[{"type":"presence","expected":"yes","predicted":"yes"},{"type":"presence","expected":"no","predicted":"yes"}]""");
            File.WriteAllText(rsp, $"vqa\n--answers\n{file}\n");
            var (code, stdout, stderr) = Run("metrics", "@" + rsp, "--json");
            code.Should().Be(0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            doc.RootElement.GetProperty("OA").GetDouble().Should().Be(0.5);
        }
        finally
        {
            File.Delete(file);
            File.Delete(rsp);
        }
    }

    [Fact]
    public void MetricsCaptionsPrintsAScoreTableAndWritesThePerImageJsonOnlyToTheOutputFile()
    {
        var captions = Path.Combine(MetricsDir, "public_captions.json");
        var output = Path.GetTempFileName();
        try
        {
            var (code, stdout, stderr) = Run("metrics", "captions", "--references", captions, "--candidates", captions, "--no-meteor", "--output", output);
            code.Should().Be(0, stderr);
            stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length.Should().BeLessThan(15);
            stdout.Should().Contain("CIDEr").And.Contain("Bleu_4").And.NotContain("per_image");
            using var doc = JsonDocument.Parse(File.ReadAllText(output));
            doc.RootElement.GetProperty("per_image").EnumerateObject().Should().NotBeEmpty();
        }
        finally { File.Delete(output); }
    }

    [Fact]
    public void WeightsInspectReportsAFlippedBitInAWrittenModelFile()
    {
        var dir = Directory.CreateTempSubdirectory("spatialnet-cli-");
        try
        {
            var path = Path.Combine(dir.FullName, "model.safetensors");
            SpatialNet.Weights.StateDictFile.Write(path, new Dictionary<string, TorchSharp.torch.Tensor>
            {
                ["head.bias"] = TorchSharp.torch.zeros(2),
                ["head.weight"] = TorchSharp.torch.arange(6, dtype: TorchSharp.torch.float32).reshape(2, 3),
            });
            Run("weights", "inspect", path).Code.Should().Be(0);

            var bytes = File.ReadAllBytes(path);
            bytes[^1] ^= 0x01;   // still a valid float: only the recorded checksum can tell
            File.WriteAllBytes(path, bytes);
            var (code, _, stderr) = Run("weights", "inspect", path);

            code.Should().Be(1);
            stderr.Should().Contain(path).And.Contain("is damaged");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void WeightsInspectListsTensorsAndConvertRoundTrips()
    {
        var dir = Directory.CreateTempSubdirectory("spatialnet-cli-");
        try
        {
            var src = Path.Combine(dir.FullName, "a.safetensors");
            var tensors = new Dictionary<string, TorchSharp.torch.Tensor>
            {
                ["head.weight"] = TorchSharp.torch.arange(6, dtype: TorchSharp.torch.float32).reshape(2, 3),
                ["head.bias"] = TorchSharp.torch.zeros(2),
            };
            SpatialNet.Weights.StateDictFile.Write(src, tensors);
            var (code, stdout, stderr) = Run("weights", "inspect", src);
            code.Should().Be(0, stderr);
            stdout.Should().Contain("head.weight").And.Contain("[2, 3]").And.Contain("parameters: 8");
            (code, stdout, stderr) = Run("weights", "inspect", src, "--json");
            code.Should().Be(0, stderr);
            using (var doc = JsonDocument.Parse(stdout))
                doc.RootElement.GetProperty("parameters").GetInt64().Should().Be(8);

            var dst = Path.Combine(dir.FullName, "b.pth");
            Run("weights", "convert", src, dst).Code.Should().Be(0);
            using var back = SpatialNet.Weights.StateDictFile.Read(dst);
            back["head.weight"].allclose(tensors["head.weight"], rtol: 0, atol: 0).Should().BeTrue();
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void WeightsInspectSortsNamesNaturally()
    {
        var dir = Directory.CreateTempSubdirectory("spatialnet-cli-");
        try
        {
            var src = Path.Combine(dir.FullName, "blocks.safetensors");
            var names = new[] { "blocks.10.norm.weight", "blocks.2.norm.weight", "blocks.1.norm.weight", "cls_token" };
            SpatialNet.Weights.StateDictFile.Write(src, names.ToDictionary(n => n, _ => TorchSharp.torch.zeros(3)));
            var (code, stdout, stderr) = Run("weights", "inspect", src);
            code.Should().Be(0, stderr);
            var listed = stdout.Split('\n').Select(l => l.Split(' ')[0]).Where(names.Contains).ToList();
            listed.Should().Equal("blocks.1.norm.weight", "blocks.2.norm.weight", "blocks.10.norm.weight", "cls_token");
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void WeightsInspectReadsTheHeaderOnly_AForgedSizeIsAnErrorNotAnAllocation()
    {
        var file = Path.GetTempFileName();
        try
        {
            // A 10^12-element float32 tensor announced by an 8-byte data section.
            var header = System.Text.Encoding.UTF8.GetBytes("""{"w":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}}""");
            using (var f = File.Create(file))
            {
                f.Write(BitConverter.GetBytes((ulong)header.Length));
                f.Write(header);
                f.Write(new byte[8]);
            }
            var (code, _, stderr) = Run("weights", "inspect", file, "--format", "safetensors");
            code.Should().Be(1);
            stderr.Should().Contain(file).And.Contain("data_offsets");
        }
        finally { File.Delete(file); }
    }
}
