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
/// <c>dotnet add package</c> lines, build and run against packages packed as the README's install section says
/// (its bash blocks run verbatim: pack to a local folder, add it as a source). Takes minutes.
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

        // The install section's two bash blocks, as written: packing in a clone, then the application's commands.
        var install = readme[readme.IndexOf("## Install in your application", StringComparison.Ordinal)..];
        install = install[..install.IndexOf("\n## ", 1, StringComparison.Ordinal)];
        var installBlocks = BashBlocks().Matches(install).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(2, installBlocks.Count);
        Assert.Contains("dotnet pack src/SpatialNet.Training", installBlocks[0]);
        Assert.Contains("dotnet nuget add source", installBlocks[1]);

        var version = XDocument.Load(Path.Combine(root, "Directory.Build.props")).Descendants("Version").First().Value;
        var work = Path.Combine(Path.GetTempPath(), "spatialnet-readme-" + Guid.NewGuid().ToString("N")[..8]);
        var clone = Path.Combine(work, "clone");
        var home = Path.Combine(work, "home");
        var apps = Path.Combine(work, "apps");
        Directory.CreateDirectory(home);
        Directory.CreateDirectory(apps);
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        // '~' is a scratch home; restored packages stay in the machine's cache, minus any earlier pack of this version.
        var environment = new Dictionary<string, string> { ["HOME"] = home, ["NUGET_PACKAGES"] = cache };
        void ForgetPackedVersion()
        {
            TryDelete(Path.Combine(cache, "spatialnet.core", version));
            TryDelete(Path.Combine(cache, "spatialnet.training", version));
        }

        ForgetPackedVersion();
        var passed = false;
        try
        {
            // A copy of the working tree's libraries stands in for the clone: the repository's bin/obj (loaded by this test run) stay untouched.
            CopyClone(root, clone);
            Run("bash", clone, ["-euc", installBlocks[0]], environment);
            Run("bash", apps, ["-euc", installBlocks[1]], environment);
            var app = Path.Combine(apps, "MyApp");
            File.WriteAllText(Path.Combine(app, "Program.cs"), code);
            var output = Run(dotnet!, app, ["run", "-c", "Release"], environment);
            log.WriteLine(output);

            Assert.Contains("land_use classes:", output);
            Assert.Contains("building_count shape: [2]", output);
            Assert.Contains("exact match: True", output);
            passed = true;
        }
        finally
        {
            // The app folder holds a copy of libtorch (~600 MB): kept only on request (SPATIALNET_KEEP_README_APP=1)
            // after a failure; the packed version always leaves the cache.
            if (passed || Environment.GetEnvironmentVariable("SPATIALNET_KEEP_README_APP") != "1") TryDelete(work);
            ForgetPackedVersion();
        }
    }

    /// <summary>The repository's root files and the two library projects, without build outputs: what packing reads.</summary>
    private static void CopyClone(string root, string clone)
    {
        Directory.CreateDirectory(clone);
        foreach (var file in Directory.GetFiles(root))
            File.Copy(file, Path.Combine(clone, Path.GetFileName(file)));
        foreach (var project in new[] { "SpatialNet.Core", "SpatialNet.Training" })
        {
            var source = Path.Combine(root, "src", project);
            foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(source, file);
                var top = relative.Split(Path.DirectorySeparatorChar)[0];
                if (top is "bin" or "obj") continue;
                var target = Path.Combine(clone, "src", project, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }
    }

    [GeneratedRegex(@"```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlocks();

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlocks();

    private static string Run(string file, string workingDirectory, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment)
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
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        info.Environment["UseSharedCompilation"] = "false";   // an MSBuild property: no compiler server outlives the test
        foreach (var (key, value) in environment) info.Environment[key] = value;

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
            Assert.Fail($"'{file} {string.Join(' ', args)}' in {workingDirectory} ran past {StepTimeout.TotalMinutes} minutes:\n{output}");
        }

        process.WaitForExit(); // flushes the redirected streams
        string text;
        lock (output) text = output.ToString();
        Assert.True(process.ExitCode == 0, $"'{file} {string.Join(' ', args)}' in {workingDirectory} exited with {process.ExitCode}:\n{text}");
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
