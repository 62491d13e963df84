namespace SpatialNet.Training.Tests.Support;

/// <summary>
/// Finds the real data folder that lives beside the repository (never inside it): the folder named by
/// SPATIALNET_SHARED_DATA, else <c>shared/data</c> in the repository's parent or any folder above.
/// Tests that need it skip when it is absent.
/// </summary>
internal static class SharedData
{
    public static string? Find(string relative)
    {
        var configured = Environment.GetEnvironmentVariable("SPATIALNET_SHARED_DATA");
        if (!string.IsNullOrEmpty(configured))
        {
            var path = Path.Combine(configured, relative);
            return Directory.Exists(path) || File.Exists(path) ? path : null;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", relative);
            if (Directory.Exists(candidate) || File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
