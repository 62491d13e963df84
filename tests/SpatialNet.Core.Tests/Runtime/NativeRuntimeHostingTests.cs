using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SpatialNet.Models;
using SpatialNet.Runtime;
using Xunit;

namespace SpatialNet.Core.Tests.Runtime;

/// <summary>The loader in a host: no libtorch, an unwritable cache folder, the host's logger.</summary>
[Collection(nameof(NativeRuntimeHostingTests))]
public sealed class NativeRuntimeHostingTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "spatialnet-hosting-" + Guid.NewGuid().ToString("N")[..8]);

    public NativeRuntimeHostingTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string TorchCpuName =>
        OperatingSystem.IsWindows() ? "torch_cpu.dll" : OperatingSystem.IsMacOS() ? "libtorch_cpu.dylib" : "libtorch_cpu.so";

    [Fact]
    public void Without_a_libtorch_the_loader_finds_none_and_its_error_is_one_line_naming_the_setting()
    {
        var probed = new List<string>();
        TorchNativeRuntime.FindLibTorch([_dir], name => { probed.Add(name); return false; }).Should().BeNull();
        probed.Should().Equal([TorchCpuName], "the system's own search is asked last, by file name");

        var message = TorchNativeRuntime.MissingLibTorchMessage;
        message.Should().Contain("SPATIALNET_LIBTORCH_DIR").And.NotContain("\n").And.NotContain("\r");
    }

    [Fact]
    public void A_bundled_libtorch_is_found_in_the_probing_folders_without_asking_the_system()
    {
        var bundled = Path.Combine(_dir, "bundled");
        Directory.CreateDirectory(bundled);
        File.WriteAllBytes(Path.Combine(bundled, TorchCpuName), []);
        TorchNativeRuntime.FindLibTorch([_dir, bundled], _ => throw new InvalidOperationException("not asked"))
            .Should().Be(Path.Combine(bundled, TorchCpuName));
        TorchNativeRuntime.FindLibTorch([_dir], _ => true).Should().Be(TorchCpuName, "found by the system's search (LD_LIBRARY_PATH, PATH)");
    }

    [SkippableFact]
    public void An_unwritable_cache_folder_falls_back_to_a_writable_one_and_says_so()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the compatibility copy exists on Linux only");
        var shipped = TorchNativeRuntime.FindShippedLibrary();
        Skip.If(shipped is null, "no libLibTorchSharp.so beside the tests");
        // A folder below a regular file cannot be created, whoever runs the test (root included).
        var file = Path.Combine(_dir, "not-a-folder");
        File.WriteAllText(file, "x");
        var unwritable = Path.Combine(file, "cache");
        var fallback = Path.Combine(_dir, "fallback");

        var (path, note) = TorchNativeRuntime.PatchedCopyWithFallback(shipped!, unwritable, fallback);

        path.Should().StartWith(fallback);
        File.Exists(path).Should().BeTrue();
        note.Should().Contain(unwritable).And.Contain(fallback).And.Contain("SPATIALNET_NATIVE_CACHE");
        TorchNativeRuntime.PatchedCopyWithFallback(shipped!, fallback, unwritable).Should().Be((path, (string?)null), "a writable cache is used as it is");
    }

    [SkippableFact]
    public void When_no_folder_is_writable_the_error_names_the_setting()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the compatibility copy exists on Linux only");
        var shipped = TorchNativeRuntime.FindShippedLibrary();
        Skip.If(shipped is null, "no libLibTorchSharp.so beside the tests");
        var file = Path.Combine(_dir, "not-a-folder");
        File.WriteAllText(file, "x");

        var act = () => TorchNativeRuntime.PatchedCopyWithFallback(shipped!, Path.Combine(file, "a"), Path.Combine(file, "b"));

        act.Should().Throw<NativeRuntimeException>()
            .Which.Message.Should().Contain("SPATIALNET_NATIVE_CACHE").And.Contain(Path.Combine(file, "a")).And.Contain(Path.Combine(file, "b"));
    }

    [SkippableFact]
    public void A_tampered_cached_copy_is_replaced()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the compatibility copy exists on Linux only");
        var shipped = TorchNativeRuntime.FindShippedLibrary();
        Skip.If(shipped is null, "no libLibTorchSharp.so beside the tests");
        var cache = Path.Combine(_dir, "cache");
        var copy = TorchNativeRuntime.GetOrCreatePatchedCopy(shipped!, cache);
        var expected = File.ReadAllBytes(copy);
        File.WriteAllBytes(copy, [1, 2, 3]);
        // A killed writer's temporary (a process id that cannot be running) is removed by the rewrite.
        var stale = Path.Combine(Path.GetDirectoryName(copy)!, $"{SpatialNet.IO.AtomicFile.TempPrefix}{Path.GetFileName(copy)}.{int.MaxValue - 1}.0123");
        File.WriteAllBytes(stale, [4, 5]);

        TorchNativeRuntime.GetOrCreatePatchedCopy(shipped!, cache).Should().Be(copy);
        File.ReadAllBytes(copy).Should().Equal(expected);
        Directory.GetFiles(Path.GetDirectoryName(copy)!).Should().Equal(copy);
    }

    [Fact]
    public void With_AddSpatialNet_the_loader_logs_through_the_host_logger_as_one_entry()
    {
        var previous = TorchNativeRuntime.Logger;
        var capture = new CapturingLoggerFactory();
        try
        {
            TorchNativeRuntime.Logger = null;
            var services = new ServiceCollection();
            services.AddSingleton<ILoggerFactory>(capture);
            services.AddSpatialNet(sn => sn.UseVisionTransformer().AddClassificationTask("land_use", classes: 3));
            using var provider = services.BuildServiceProvider();
            provider.GetRequiredService<IMultiTaskModelFactory>();

            TorchNativeRuntime.Log("first");
            TorchNativeRuntime.Log("second");
            TorchNativeRuntime.FlushLog();

            capture.Entries.Should().ContainSingle().Which.Should().Be(
                (typeof(TorchNativeRuntime).FullName!, LogLevel.Information, "SpatialNet native runtime: first; second"));
        }
        finally
        {
            TorchNativeRuntime.Logger = previous;
        }
    }

    private sealed class CapturingLoggerFactory : ILoggerFactory
    {
        public List<(string Category, LogLevel Level, string Message)> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerFactory owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.Entries) owner.Entries.Add((category, logLevel, formatter(state, exception)));
            }
        }
    }
}
