namespace SpatialNet.Training.Data;

/// <summary>Image paths written in annotation files: relative, inside the dataset's image folder.</summary>
internal static class DatasetPaths
{
    /// <summary>
    /// The full path of <paramref name="relative"/> inside <paramref name="folder"/>; absolute paths and
    /// paths that leave the folder (<c>..</c>) are refused, naming the file and field. Two spellings of one
    /// image (<c>./2.tif</c>, <c>2.tif</c>) give the same result.
    /// </summary>
    public static string Resolve(string folder, string relative, string file, string field)
    {
        if (string.IsNullOrWhiteSpace(relative))
            throw new DatasetFormatException(file, field, "the image path is empty.");
        if (Path.IsPathRooted(relative))
            throw new DatasetFormatException(file, field, $"'{relative}' is an absolute path; allowed: a path relative to the image folder '{folder}'.");
        var root = Path.GetFullPath(folder);
        var full = Path.GetFullPath(Path.Combine(root, relative));
        var inside = Path.GetRelativePath(root, full);
        if (inside == ".." || inside.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(inside) || inside == ".")
            throw new DatasetFormatException(file, field, $"'{relative}' points outside the image folder '{root}'; allowed: a path inside it.");
        return full;
    }
}
