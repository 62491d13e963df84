namespace SpatialNet.Training.Tests.Support;

/// <summary>The checkout the tests run from: the folder above the test output that holds SpatialNet.sln.</summary>
internal static class Repository
{
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SpatialNet.sln"))) return dir.FullName;
        }

        throw new DirectoryNotFoundException($"The repository root (SpatialNet.sln) is not above {AppContext.BaseDirectory}.");
    }
}
