using System.Text.Json;
using FluentAssertions;

namespace SpatialNet.Training.Tests.Metrics;

/// <summary>Tolerance checks and fixture loading shared by the metric tests.</summary>
internal static class MetricAssert
{
    /// <summary>Asserts |Δ| ≤ 1e-12·max(1,|expected|) and, for non-zero expected values, relative error ≤ 1e-9.</summary>
    public static void Close(double actual, double expected, string what)
    {
        double diff = Math.Abs(actual - expected);
        diff.Should().BeLessThanOrEqualTo(1e-12 * Math.Max(1.0, Math.Abs(expected)), $"{what}: actual {actual:R} vs expected {expected:R}");
        if (expected != 0)
        {
            (diff / Math.Abs(expected)).Should().BeLessThanOrEqualTo(1e-9, $"{what}: relative error, actual {actual:R} vs expected {expected:R}");
        }
    }

    public static JsonElement LoadFixture(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "metrics", name);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }
}
