using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using SpatialNet.Training.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace SpatialNet.Training.Tests.Docs;

/// <summary>
/// The README's C# blocks, pasted in order into a new console app after the README's
/// <c>dotnet add package</c> lines, build and run against freshly packed packages (a local feed).
/// Takes minutes: packs SpatialNet.Core and SpatialNet.Training, restores TorchSharp-cpu, builds and runs.
/// </summary>
public sealed partial class ReadmeTests(ITestOutputHelper log)
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(10);

    [SkippableFact]
    [Trait("Category", "Slow")]
    public void Readme_csharp_blocks_build_and_run_in_a_new_console_app_against_packed_packages()
    {
        var dotnet = FindOnPath("dotnet");
        Skip.If(dotnet is null, "dotnet is not on PATH: the README test needs the SDK to pack, build and run a console app.");
        var root = Repository.Root();
        var readme = File.ReadAllText(Path.Combine(root, "README.md"));

        var packages = BashBlocks().Matches(readme).SelectMany(m => m.Groups[1].Value.Split('\n'))
            .Select(l => l.Split('#')[0].Trim())
            .Where(l => l.StartsWith("dotnet add package ", StringComparison.Ordinal))
            .Select(l => l["dotnet add package ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0])
            .ToList();
        var code = string.Join("\n\n", CSharpBlocks().Matches(readme).Select(m => m.Groups[1].Value));
        Assert.Contains("SpatialNet.Training", packages);
        Assert.Contains("TorchSharp-cpu", packages);
        Assert.Contains("Microsoft.Extensions.DependencyInjection", packages);
        Assert.Contains("ModelWeights.Load", code);

        // A unique version, so that the global packages folder never serves an older pack.
        var version = $"0.0.0-readme.{DateTime.UtcNow:yyyyMMddHHmmss}";
        var work = Path.Combine(Path.GetTempPath(), "spatialnet-readme-" + Guid.NewGuid().ToString("N")[..8]);
        var feed = Path.Combine(work, "feed");
        var app = Path.Combine(work, "app");
        Directory.CreateDirectory(feed);
        Directory.CreateDirectory(app);
        var passed = false;
        try
        {
            // Own artifacts path: the repository's bin/obj (loaded by this test run) stay untouched.
            foreach (var project in new[] { "src/SpatialNet.Core", "src/SpatialNet.Training" })
            {
                Run(dotnet!, root, ["pack", Path.Combine(root, project), "-c", "Release", "-o", feed, $"-p:Version={version}",
                    "--artifacts-path", Path.Combine(work, "artifacts"), "--disable-build-servers"]);
            }

            File.WriteAllText(Path.Combine(app, "nuget.config"), NuGetConfig(root, feed));
            File.WriteAllText(Path.Combine(app, "ReadmeApp.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                </Project>
                """);
            foreach (var package in packages)
            {
                string[] args = package.StartsWith("SpatialNet.", StringComparison.Ordinal)
                    ? ["add", "package", package, "--version", version]
                    : ["add", "package", package];
                Run(dotnet!, app, args);
            }

            File.WriteAllText(Path.Combine(app, "Program.cs"), code);
            var output = Run(dotnet!, app, ["run", "-c", "Release", "--disable-build-servers"]);
            log.WriteLine(output);

            Assert.Contains("land_use classes:", output);
            Assert.Contains("building_count shape: [2]", output);
            Assert.Contains("exact match: True", output);
            passed = true;
        }
        finally
        {
            // The app folder holds a copy of libtorch (~600 MB): kept only on request (SPATIALNET_KEEP_README_APP=1)
            // after a failure; the packed versions always leave the cache.
            if (passed || Environment.GetEnvironmentVariable("SPATIALNET_KEEP_README_APP") != "1") TryDelete(work);
            var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            TryDelete(Path.Combine(cache, "spatialnet.core", version));
            TryDelete(Path.Combine(cache, "spatialnet.training", version));
        }
    }

    [GeneratedRegex(@"```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlocks();

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlocks();

    /// <summary>The local feed first, then the repository's own package sources (the machine's registry).</summary>
    private static string NuGetConfig(string root, string feed)
    {
        var sources = XDocument.Load(Path.Combine(root, "nuget.config")).Descendants("packageSources").Elements("add")
            .Select(e => new XElement("add", e.Attributes()));
        var config = new XElement("configuration",
            new XElement("packageSources",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "readme-local"), new XAttribute("value", feed)),
                sources));
        return config.ToString();
    }

    private static string Run(string file, string workingDirectory, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        // The test host's MSBuild settings must not leak into the child builds; no build servers outlive the test.
        foreach (var key in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
            info.Environment.Remove(key);
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(StepTimeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"'dotnet {string.Join(' ', args)}' in {workingDirectory} ran past {StepTimeout.TotalMinutes} minutes:\n{output}");
        }

        process.WaitForExit(); // flushes the redirected streams
        string text;
        lock (output) text = output.ToString();
        Assert.True(process.ExitCode == 0, $"'dotnet {string.Join(' ', args)}' in {workingDirectory} exited with {process.ExitCode}:\n{text}");
        return text;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(d => new[] { Path.Combine(d, name), Path.Combine(d, name + ".exe") })
            .FirstOrDefault(File.Exists);


    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
