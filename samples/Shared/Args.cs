// Shared by the samples that take --name value arguments (linked into each project).
/// <summary>A minimal <c>--name value</c> parser for the samples.</summary>
internal static class Args
{
    public static Dictionary<string, string>? Parse(string[] args, IReadOnlyCollection<string> allowed)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length || !allowed.Contains(args[i][2..]))
                return null;
            result[args[i][2..]] = args[i + 1];
        }
        return result;
    }
}
