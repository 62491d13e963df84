using System.Diagnostics;
using System.Security.Cryptography;
using FluentAssertions;
using SpatialNet.Runtime;
using TorchSharp;
using Xunit;

namespace SpatialNet.Core.Tests.Runtime;

public class NativeRuntimeTests
{
    private static string ShippedLibrary()
    {
        var path = TorchNativeRuntime.FindShippedLibrary();
        path.Should().NotBeNull("the test output carries TorchSharp's linux-x64 native library");
        return path!;
    }

    /// <summary>Runs readelf (binutils) as an independent ELF reader; null when it is not installed.</summary>
    private static string? ReadElf(string args)
    {
        try
        {
            var psi = new ProcessStartInfo("readelf", args) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    [Fact]
    public void TorchSharpLoadsWithoutManualSteps()
    {
        var report = TorchNativeRuntime.EnsureInitialized();
        using var t = torch.ones(2, 3);
        t.sum().item<float>().Should().Be(6f);
        report.Action.Should().NotBe("nothing yet");
    }

    [Fact]
    public void PatchSetsOnlyTheWeakFlagOfTheGlibcxx332Need()
    {
        if (!OperatingSystem.IsLinux()) return;
        var original = File.ReadAllBytes(ShippedLibrary());
        var patched = (byte[])original.Clone();

        int changed = ElfVersionInfo.MarkVersionNeedWeak(patched, TorchNativeRuntime.RequiredGlibcxxVersion);

        changed.Should().Be(1);
        patched.Length.Should().Be(original.Length);
        var diffs = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
        diffs.Should().HaveCount(1, "vna_flags is little-endian and VER_FLG_WEAK (0x2) lives in its low byte");
        int at = diffs[0];
        (patched[at] ^ original[at]).Should().Be(0x2);
        (original[at] & 0x2).Should().Be(0);

        var before = ElfVersionInfo.Parse(original).Needs;
        var after = ElfVersionInfo.Parse(patched).Needs;
        after.Should().HaveCount(before.Count);
        var target = after.Single(n => n.Version == TorchNativeRuntime.RequiredGlibcxxVersion);
        target.File.Should().Be("libstdc++.so.6");
        target.IsWeak.Should().BeTrue();
        target.FlagsOffset.Should().Be(at);
        after.Where(n => n.Version != TorchNativeRuntime.RequiredGlibcxxVersion)
            .Should().BeEquivalentTo(before.Where(n => n.Version != TorchNativeRuntime.RequiredGlibcxxVersion));
    }

    [Fact]
    public void PatchedCopyIsReadAsWeakByReadelf()
    {
        if (!OperatingSystem.IsLinux()) return;
        var cache = Path.Combine(Path.GetTempPath(), "spatialnet-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var shipped = ShippedLibrary();
            var hashBefore = SHA256.HashData(File.ReadAllBytes(shipped));
            var copy = TorchNativeRuntime.GetOrCreatePatchedCopy(shipped, cache);
            TorchNativeRuntime.GetOrCreatePatchedCopy(shipped, cache).Should().Be(copy, "the copy is cached by content hash");

            copy.Should().StartWith(cache);
            SHA256.HashData(File.ReadAllBytes(shipped)).Should().Equal(hashBefore, "the shipped library is never modified");
            Directory.GetFiles(Path.GetDirectoryName(copy)!).Should().ContainSingle("no temporary file is left behind");

            var text = ReadElf($"-V \"{copy}\"");
            if (text is null) return; // binutils not installed: the byte-level test above still holds
            var line = text.Split('\n').Single(l => l.Contains("Name: GLIBCXX_3.4.32", StringComparison.Ordinal));
            line.Should().Contain("Flags: WEAK");
            text.Split('\n').Count(l => l.Contains("Flags: WEAK", StringComparison.Ordinal)).Should().Be(1);
        }
        finally
        {
            if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public void DetectionMatchesReadelfOnThisMachine()
    {
        if (!OperatingSystem.IsLinux()) return;
        var lib = LibStdCxx.FindLoaded();
        lib.Should().NotBeNull("the .NET host maps libstdc++ into every process");
        var text = ReadElf($"-V \"{lib}\"");
        if (text is null) return;
        bool expected = text.Contains("Name: GLIBCXX_3.4.32", StringComparison.Ordinal);
        LibStdCxx.Defines(lib!, "GLIBCXX_3.4.32").Should().Be(expected);
        LibStdCxx.Defines(lib!, "GLIBCXX_3.4.21").Should().Be(text.Contains("Name: GLIBCXX_3.4.21", StringComparison.Ordinal));
        TorchNativeRuntime.Report.SystemHasRequiredGlibcxx.Should().Be(expected);
    }

    [Fact]
    public void CompatibilityCopyIsMappedExactlyWhenTheSystemNeedsIt()
    {
        if (!OperatingSystem.IsLinux()) return;
        var report = TorchNativeRuntime.EnsureInitialized();
        var maps = File.ReadAllText("/proc/self/maps");
        if (report.SystemHasRequiredGlibcxx == false)
        {
            report.PatchedLibrary.Should().NotBeNull();
            maps.Should().Contain(report.PatchedLibrary!, "TorchSharp's calls go to the compatibility copy");
            report.PatchedLibrary!.Should().NotContain(".nuget");
        }
        else
        {
            report.PatchedLibrary.Should().BeNull("nothing is patched where the system libstdc++ is new enough");
        }
    }

    [Fact]
    public void AModelTrainsAfterLoadingThroughTheRuntime()
    {
        TorchNativeRuntime.EnsureInitialized();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1);
        var model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1));
        var opt = torch.optim.Adam(model.parameters(), 0.05);
        var x = torch.randn(32, 3);
        var y = (x * torch.tensor(new float[] { 1f, -2f, 0.5f })).sum(1, keepdim: true);
        float first = 0, last = 0;
        for (int i = 0; i < 150; i++)
        {
            using var step = torch.NewDisposeScope();
            opt.zero_grad();
            var loss = torch.nn.functional.mse_loss(model.call(x), y);
            loss.backward();
            opt.step();
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        last.Should().BeLessThan(first * 0.05f);
    }

    [Theory]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("OFF", false)]
    [InlineData("1", true)]
    [InlineData("", true)]
    public void CompatibilityCanBeSwitchedOffByEnvironment(string value, bool expected)
    {
        var old = Environment.GetEnvironmentVariable(NativeRuntimeOptions.CompatibilityPatchVariable);
        try
        {
            Environment.SetEnvironmentVariable(NativeRuntimeOptions.CompatibilityPatchVariable, value);
            new NativeRuntimeOptions().WithEnvironment().LibStdCxxCompatibility.Should().Be(expected);
            new NativeRuntimeOptions { LibStdCxxCompatibility = false }.WithEnvironment().LibStdCxxCompatibility
                .Should().Be(value == "" ? false : expected, "an unset variable leaves the code's choice");
        }
        finally
        {
            Environment.SetEnvironmentVariable(NativeRuntimeOptions.CompatibilityPatchVariable, old);
        }
    }

    [Fact]
    public void NonElfInputIsRejectedWithAClearError()
    {
        var act = () => ElfVersionInfo.Parse(new byte[100], "bogus.so");
        act.Should().Throw<InvalidDataException>().WithMessage("bogus.so: not an ELF file*");
        var truncated = File.ReadAllBytes(ShippedLibrary()).AsSpan(0, 80).ToArray();
        var act2 = () => ElfVersionInfo.Parse(truncated, "cut.so");
        act2.Should().Throw<InvalidDataException>().WithMessage("cut.so: *");
    }
}
