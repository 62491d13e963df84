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

/// <summary>
/// One image, one split: an image file (its normalised full path) listed in two splits is refused,
/// naming both entries, unless the dataset's option allows it. Twice in one split is the caller's rule.
/// </summary>
internal sealed class ImageSplits(bool allowSeveral, string option)
{
    private readonly Dictionary<string, (string Split, string File, string Field, string Shown)> _first = new(StringComparer.Ordinal);

    /// <summary>Records <paramref name="image"/> in <paramref name="split"/>; false when it was already recorded in that split.</summary>
    /// <exception cref="DatasetFormatException">The image is already in another split and <c>allowSeveral</c> is false.</exception>
    public bool Add(string image, string split, string file, string field, string shown)
    {
        var full = Path.GetFullPath(image);
        if (!_first.TryGetValue(full, out var first))
        {
            _first[full] = (split, file, field, shown);
            return true;
        }
        if (first.Split == split)
            return false;
        if (!allowSeveral)
            throw new DatasetFormatException(file, field,
                $"{shown} (split '{split}') is the same image as {first.Shown} ({first.Field} of {first.File}, split '{first.Split}'); an image belongs to one split " +
                $"(the data source's allow_images_in_several_splits, {option}, allows it).");
        return true;
    }
}
