using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using TorchSharp;

namespace SpatialNet.Runtime;

/// <summary>
/// Makes TorchSharp's native libraries load on every supported machine without manual steps.
/// <list type="bullet">
/// <item>TorchSharp 0.107's <c>libLibTorchSharp.so</c> needs <c>GLIBCXX_3.4.32</c> (GCC 13) for one
/// link-time marker symbol that nothing calls. Where the system libstdc++ lacks that version
/// (Debian 12, Ubuntu 22.04), a copy whose need for it is marked weak is cached on disk and served
/// to TorchSharp through a DllImport resolver. The NuGet cache is never modified.</item>
/// <item>Bring-your-own libtorch: the libraries of an existing installation (e.g. PyTorch's
/// <c>torch/lib</c>, CPU or CUDA) are loaded first so TorchSharp binds to them.</item>
/// </list>
/// The resolver is registered automatically when SpatialNet.Core is loaded; call
/// <see cref="EnsureInitialized"/> for an explicit, checked start with a clear error.
/// </summary>
public static class TorchNativeRuntime
{
    /// <summary>The symbol version the shipped library needs and older libstdc++ lacks.</summary>
    public const string RequiredGlibcxxVersion = "GLIBCXX_3.4.32";

    internal const string NativeLibraryName = "LibTorchSharp";
    internal const string LinuxFileName = "libLibTorchSharp.so";

    private static readonly object Gate = new();
    private static NativeRuntimeOptions _options = new();
    private static ILogger? _logger;
    private static bool _resolverRegistered;
    private static bool _resolved;
    private static IntPtr _handle;
    private static bool _initialized;
    private static NativeRuntimeReport _report = new();
    private static readonly List<string> PendingLog = [];

    /// <summary>What was found and done so far.</summary>
    public static NativeRuntimeReport Report { get { lock (Gate) return _report; } }

    /// <summary>Whether the DllImport resolver is registered on TorchSharp's assembly.</summary>
    public static bool ResolverRegistered { get { lock (Gate) return _resolverRegistered; } }

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "Registering the resolver before the first TorchSharp call is what makes loading automatic; it loads nothing itself.")]
    internal static void AutoRegister()
    {
        try { Register(); }
        catch (InvalidOperationException) { /* another resolver is registered: EnsureInitialized reports it */ }
    }

    /// <summary>
    /// Sets options and an optional logger. Takes effect only before TorchSharp's natives are loaded;
    /// later calls change nothing that is already loaded.
    /// </summary>
    public static void Configure(NativeRuntimeOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (Gate)
        {
            _options = options;
            if (logger is not null) _logger = logger;
        }
        Register();
    }

    /// <summary>The host's logging (<c>AddSpatialNet</c> passes it on); a logger given explicitly wins.</summary>
    internal static void UseHostLogger(ILoggerFactory? loggerFactory)
    {
        if (loggerFactory is null) return;
        lock (Gate) _logger ??= loggerFactory.CreateLogger(typeof(TorchNativeRuntime).FullName!);
    }

    /// <summary>Registers the resolver on TorchSharp's assembly (idempotent).</summary>
    /// <exception cref="InvalidOperationException">Another resolver is already registered on TorchSharp's assembly.</exception>
    public static void Register()
    {
        lock (Gate)
        {
            if (_resolverRegistered) return;
            NativeLibrary.SetDllImportResolver(typeof(torch).Assembly, Resolve);
            // NativeLibrary.TryLoad(name, assembly, ...) — TorchSharp's own start-up probe — does not
            // consult DllImport resolvers; it raises this event once its default probing has failed.
            System.Runtime.Loader.AssemblyLoadContext.Default.ResolvingUnmanagedDll += (asm, name) =>
                asm == typeof(torch).Assembly ? Resolve(name, asm, null) : IntPtr.Zero;
            _resolverRegistered = true;
        }
    }

    /// <summary>
    /// Loads TorchSharp's natives now (CPU, or the given device type) and throws a
    /// <see cref="NativeRuntimeException"/> naming the real cause if that fails. Idempotent.
    /// </summary>
    public static NativeRuntimeReport EnsureInitialized(DeviceType deviceType = DeviceType.CPU, ILogger? logger = null)
    {
        lock (Gate)
        {
            if (logger is not null) _logger = logger;
        }
        try { Register(); }
        catch (InvalidOperationException) { Log("another DllImport resolver is registered on TorchSharp; SpatialNet's compatibility loader is inactive"); }

        lock (Gate)
        {
            if (_initialized && deviceType == DeviceType.CPU) return _report;
        }
        try
        {
            PreloadLibTorch();
            // Before TorchSharp's first probe: when that fails, TorchSharp copies a libtorch package from
            // the NuGet cache beside the application (hundreds of MB) before it reports the failure.
            if (Report.LibTorchDirectory is null && FindLibTorch(ProbeFolders(), LoadsByName) is null)
                throw new NativeRuntimeException(MissingLibTorchMessage);
            torch.InitializeDeviceType(deviceType);
        }
        catch (Exception ex) when (ex is not NativeRuntimeException)
        {
            throw new NativeRuntimeException(Diagnose(ex), ex);
        }
        finally
        {
            FlushLog();
        }
        lock (Gate)
        {
            _initialized = true;
            return _report;
        }
    }

    /// <summary>The one-line error when no libtorch is bundled, none is named and the system has none.</summary>
    internal static readonly string MissingLibTorchMessage =
        $"No libtorch found: set {NativeRuntimeOptions.LibTorchDirectoryVariable} to a libtorch 'lib' folder (such as PyTorch's torch/lib), or use a build that bundles one (the SpatialNet.Cli tool, TorchSharp-cpu, libtorch-cpu-<rid>).";

    /// <summary>
    /// The path of the <c>torch_cpu</c> library in the first of <paramref name="folders"/> that holds it,
    /// else its file name when the system's own search finds it (<paramref name="loadsByName"/>), else null.
    /// </summary>
    internal static string? FindLibTorch(IEnumerable<string> folders, Func<string, bool> loadsByName)
    {
        var name = TorchCpuFileName;
        foreach (var folder in folders)
        {
            var path = Path.Combine(folder, name);
            if (File.Exists(path)) return Path.GetFullPath(path);
        }
        return loadsByName(name) ? name : null;
    }

    private static bool LoadsByName(string name) => NativeLibrary.TryLoad(name, out _);

    private static string TorchCpuFileName =>
        OperatingSystem.IsWindows() ? "torch_cpu.dll" : OperatingSystem.IsMacOS() ? "libtorch_cpu.dylib" : "libtorch_cpu.so";

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!IsTorchSharpNative(libraryName)) return IntPtr.Zero;
        try { return ResolveOnce(); }
        finally { FlushLog(); }
    }

    private static IntPtr ResolveOnce()
    {
        lock (Gate)
        {
            if (_resolved) return _handle;
            _resolved = true;
            try
            {
                PreloadLibTorchLocked();
                _handle = LoadCompatibleLocked();
                // Nothing to patch, but libtorch may have come from LibTorchDirectory: load the shipped
                // library now that its dependencies are resolvable by soname. Returning zero is not a
                // fallback from the ResolvingUnmanagedDll event (TorchSharp's own probe already failed
                // there), so without this a bring-your-own libtorch needed LD_LIBRARY_PATH as well.
                if (_handle == IntPtr.Zero && _report.LibTorchDirectory is not null
                    && FindShippedLibrary() is { } shipped && NativeLibrary.TryLoad(shipped, out var loaded))
                {
                    _handle = loaded;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or DllNotFoundException or BadImageFormatException or NativeRuntimeException)
            {
                _report = _report with { Action = $"compatibility loader failed ({ex.Message}); falling back to TorchSharp's own lookup" };
                Log(_report.Action);
                _handle = IntPtr.Zero;
            }
            return _handle;
        }
    }

    private static bool IsTorchSharpNative(string name) =>
        name is NativeLibraryName or LinuxFileName or "libLibTorchSharp";

    private static void PreloadLibTorch()
    {
        lock (Gate) PreloadLibTorchLocked();
    }

    private static bool _libTorchPreloaded;

    private static void PreloadLibTorchLocked()
    {
        if (_libTorchPreloaded) return;
        var options = _options.WithEnvironment();
        if (string.IsNullOrWhiteSpace(options.LibTorchDirectory)) return;
        _libTorchPreloaded = true;
        var dir = Path.GetFullPath(options.LibTorchDirectory);
        if (!Directory.Exists(dir))
            throw new NativeRuntimeException($"{NativeRuntimeOptions.LibTorchDirectoryVariable}/LibTorchDirectory: folder '{dir}' does not exist.");
        var loaded = new List<string>();
        foreach (var name in LibTorchLoadOrder())
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) continue;
            try { NativeLibrary.Load(path); loaded.Add(name); }
            catch (DllNotFoundException ex) { throw new NativeRuntimeException($"Could not load '{path}' from LibTorchDirectory: {ex.Message}", ex); }
        }
        if (!loaded.Any(n => n.Contains("torch_cpu", StringComparison.Ordinal)))
            throw new NativeRuntimeException($"LibTorchDirectory '{dir}' holds no torch_cpu library; expected a libtorch 'lib' folder such as PyTorch's torch/lib.");
        _report = _report with { LibTorchDirectory = dir, Action = $"loaded libtorch from '{dir}' ({string.Join(", ", loaded)})" };
        Log(_report.Action);
    }

    private static IEnumerable<string> LibTorchLoadOrder()
    {
        if (OperatingSystem.IsWindows())
            return ["c10.dll", "torch_cpu.dll", "c10_cuda.dll", "torch_cuda.dll", "torch.dll"];
        if (OperatingSystem.IsMacOS())
            return ["libc10.dylib", "libtorch_cpu.dylib", "libtorch.dylib"];
        return ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"];
    }

    /// <summary>Returns a handle to a compatible libLibTorchSharp, or zero to let the runtime's default lookup proceed.</summary>
    private static IntPtr LoadCompatibleLocked()
    {
        if (!OperatingSystem.IsLinux()) return IntPtr.Zero;
        var options = _options.WithEnvironment();
        var original = FindShippedLibrary();
        if (original is null)
        {
            _report = _report with { Action = $"{LinuxFileName} not found beside the application; using TorchSharp's own lookup" };
            return IntPtr.Zero;
        }
        var stdcxx = LibStdCxx.FindLoaded();
        bool? hasVersion = stdcxx is null ? null : LibStdCxx.Defines(stdcxx, RequiredGlibcxxVersion);
        _report = _report with { OriginalLibrary = original, SystemLibStdCxx = stdcxx, SystemHasRequiredGlibcxx = hasVersion };

        var needs = ElfVersionInfo.Read(original).Needs;
        bool needsStrict = needs.Any(n => n.Version == RequiredGlibcxxVersion && !n.IsWeak);
        if (hasVersion != false || !needsStrict)
        {
            _report = _report with { Action = "system libstdc++ is compatible; nothing patched" };
            return IntPtr.Zero;
        }
        if (!options.LibStdCxxCompatibility)
        {
            _report = _report with { Action = $"system libstdc++ lacks {RequiredGlibcxxVersion} but the compatibility copy is disabled ({NativeRuntimeOptions.CompatibilityPatchVariable}=0)" };
            Log(_report.Action);
            return IntPtr.Zero;
        }

        var (patched, fallback) = PatchedCopyWithFallback(original, options.CacheDirectory ?? DefaultCacheDirectory(), FallbackCacheDirectory());
        if (fallback is not null) Log(fallback);
        // The copy lives elsewhere, so its $ORIGIN runpath no longer finds libtorch: load the
        // libraries it needs from the original folder first; the loader then matches them by soname.
        var originalDir = Path.GetDirectoryName(original)!;
        foreach (var dep in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" })
        {
            var p = Path.Combine(originalDir, dep);
            if (File.Exists(p)) NativeLibrary.Load(p);
        }
        var handle = NativeLibrary.Load(patched);
        _report = _report with
        {
            PatchedLibrary = patched,
            Action = $"system libstdc++ ({stdcxx}) lacks {RequiredGlibcxxVersion}; loaded compatibility copy '{patched}' (opt out: {NativeRuntimeOptions.CompatibilityPatchVariable}=0)",
        };
        Log(_report.Action);
        return handle;
    }

    /// <summary>
    /// Writes (once) a copy of <paramref name="original"/> whose need for
    /// <see cref="RequiredGlibcxxVersion"/> is weak, into a folder keyed by the original's hash, and returns its path.
    /// </summary>
    public static string GetOrCreatePatchedCopy(string original, string cacheRoot)
    {
        byte[] image = File.ReadAllBytes(original);
        string hash = Convert.ToHexString(SHA256.HashData(image)).Substring(0, 16).ToLowerInvariant();
        string dir = Path.Combine(cacheRoot, hash);
        string target = Path.Combine(dir, LinuxFileName);

        int changed = ElfVersionInfo.MarkVersionNeedWeak(image, RequiredGlibcxxVersion, original);
        if (changed == 0)
            throw new InvalidDataException($"{original}: no strict need for {RequiredGlibcxxVersion} to patch.");
        // A cached copy is used only when it is byte for byte the expected one.
        if (File.Exists(target) && File.ReadAllBytes(target).AsSpan().SequenceEqual(image)) return target;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
        else Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // Atomic publish: concurrent processes (parallel test hosts) may race here.
        SpatialNet.IO.AtomicFile.Write(target, s => s.Write(image));
        return target;
    }

    /// <summary>
    /// The compatibility copy under <paramref name="cacheRoot"/> or, when that cannot be written (a
    /// read-only container), under <paramref name="fallbackRoot"/>; the note says so. Throws a
    /// <see cref="NativeRuntimeException"/> naming the setting when neither can be written.
    /// </summary>
    internal static (string Path, string? Note) PatchedCopyWithFallback(string original, string cacheRoot, string fallbackRoot)
    {
        try
        {
            return (GetOrCreatePatchedCopy(original, cacheRoot), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try
            {
                var path = GetOrCreatePatchedCopy(original, fallbackRoot);
                return (path, $"cache folder '{cacheRoot}' is not writable ({ex.Message}); used '{fallbackRoot}' instead (set {NativeRuntimeOptions.CacheDirectoryVariable})");
            }
            catch (Exception ex2) when (ex2 is IOException or UnauthorizedAccessException)
            {
                throw new NativeRuntimeException(
                    $"The libstdc++ compatibility copy could not be written to '{cacheRoot}' ({ex.Message}) nor to '{fallbackRoot}' ({ex2.Message}): set {NativeRuntimeOptions.CacheDirectoryVariable} (NativeRuntimeOptions.CacheDirectory) to a writable folder.", ex2);
            }
        }
    }

    /// <summary>Where the copy goes when the cache folder is not writable: a per-user folder under the temporary folder.</summary>
    internal static string FallbackCacheDirectory() =>
        Path.Combine(Path.GetTempPath(), $"spatialnet-native-{Environment.UserName}");

    /// <summary>The default cache folder for compatibility copies.</summary>
    public static string DefaultCacheDirectory()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrWhiteSpace(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        if (string.IsNullOrWhiteSpace(root) || root == ".cache") root = Path.Combine(Path.GetTempPath(), "spatialnet-cache");
        return Path.Combine(root, "spatialnet", "native");
    }

    /// <summary>Finds the <c>libLibTorchSharp.so</c> the application would load: the native probing folders, then the application folder.</summary>
    public static string? FindShippedLibrary()
    {
        foreach (var d in ProbeFolders())
        {
            var p = Path.Combine(d, LinuxFileName);
            if (File.Exists(p)) return Path.GetFullPath(p);
        }
        return null;
    }

    /// <summary>Where the application's natives are: the native probing folders, the application folder, TorchSharp's folder.</summary>
    private static List<string> ProbeFolders()
    {
        var rid = $"{(OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux")}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        var dirs = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string probe)
            dirs.AddRange(probe.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        var baseDir = AppContext.BaseDirectory;
        dirs.Add(baseDir);
        dirs.Add(Path.Combine(baseDir, "runtimes", rid, "native"));
        var asmDir = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        if (!string.IsNullOrEmpty(asmDir))
        {
            dirs.Add(asmDir);
            dirs.Add(Path.Combine(asmDir, "runtimes", rid, "native"));
            // NuGet cache layout: lib/net8.0/TorchSharp.dll -> runtimes/<rid>/native
            dirs.Add(Path.GetFullPath(Path.Combine(asmDir, "..", "..", "runtimes", rid, "native")));
        }
        return dirs;
    }

    private static string Diagnose(Exception ex)
    {
        var lines = new List<string> { "TorchSharp's native runtime could not be loaded." };
        if (OperatingSystem.IsLinux())
        {
            var report = Report;
            var original = report.OriginalLibrary ?? FindShippedLibrary();
            if (original is null)
            {
                lines.Add($"{LinuxFileName} was not found beside the application: reference a runtime package (TorchSharp-cpu, libtorch-cpu-linux-x64, TorchSharp-cuda-linux) or set {NativeRuntimeOptions.LibTorchDirectoryVariable}.");
            }
            else
            {
                // Ask the dynamic loader directly: its error names the missing library or symbol version.
                string? cause = null;
                var candidate = report.PatchedLibrary ?? original;
                try { NativeLibrary.Free(NativeLibrary.Load(candidate)); }
                catch (Exception le) { cause = le.Message; }
                lines.Add(cause is null
                    ? $"'{candidate}' itself loads; the failure is elsewhere: {ex.Message}"
                    : $"dlopen('{candidate}') failed: {cause}");
                if (report.SystemHasRequiredGlibcxx == false && report.PatchedLibrary is null)
                    lines.Add($"The system libstdc++ lacks {RequiredGlibcxxVersion}; the compatibility copy was not used ({report.Action}).");
            }
        }
        lines.Add($"TorchSharp said: {ex.Message}");
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>The logger the loader writes to; null: one line on standard error.</summary>
    internal static ILogger? Logger
    {
        get { lock (Gate) return _logger; }
        set { lock (Gate) _logger = value; }
    }

    internal static void Log(string message)
    {
        lock (Gate) PendingLog.Add(message);
    }

    /// <summary>Writes what was done as one entry: to the host's logger when there is one, else one line on standard error (unless quiet).</summary>
    internal static void FlushLog()
    {
        string line;
        ILogger? logger;
        lock (Gate)
        {
            if (PendingLog.Count == 0) return;
            line = string.Join("; ", PendingLog);
            PendingLog.Clear();
            logger = _logger;
        }
        if (logger is not null)
        {
            logger.LogInformation("SpatialNet native runtime: {Action}", line);
            return;
        }
        if (Environment.GetEnvironmentVariable(NativeRuntimeOptions.QuietVariable) is "1" or "true") return;
        Console.Error.WriteLine($"[SpatialNet] native runtime: {line}");
    }
}
