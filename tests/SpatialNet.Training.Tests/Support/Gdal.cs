using System.Diagnostics;
using System.Text.Json;

namespace SpatialNet.Training.Tests.Support;

/// <summary>Debian's GDAL (gdal-bin, python3-gdal) as an independent reader and writer of GeoTIFF fixtures.</summary>
internal static class Gdal
{
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<bool> IsAvailable = new(() =>
        File.Exists("/usr/bin/gdalinfo") && File.Exists(Python) && TryRun(Python, ["-c", "from osgeo import gdal"], out _));

    /// <summary>True when gdalinfo and python3's osgeo.gdal are installed.</summary>
    public static bool Available => IsAvailable.Value;

    public const string SkipReason = "GDAL is not installed (apt-get install gdal-bin python3-gdal; .ci/run installs it).";

    /// <summary>Runs a python3 script (with numpy and osgeo imported) and returns its stdout.</summary>
    public static string RunPython(string script, params string[] args)
    {
        var prelude = "import sys, json\nimport numpy as np\nfrom osgeo import gdal, osr\ngdal.UseExceptions()\n";
        return Run(Python, ["-c", prelude + script, .. args]);
    }

    /// <summary>gdalinfo -json of a file.</summary>
    public static JsonElement Info(string path) => JsonDocument.Parse(Run("/usr/bin/gdalinfo", ["-json", "-mm", path])).RootElement;

    public static string Run(string file, IEnumerable<string> args)
    {
        if (!TryRun(file, args, out var output)) throw new InvalidOperationException($"{file} failed:\n{output}");
        return output;
    }

    private static bool TryRun(string file, IEnumerable<string> args, out string output)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        output = stdout.Result + (process.ExitCode != 0 ? stderr.Result : "");
        return process.ExitCode == 0;
    }
}
