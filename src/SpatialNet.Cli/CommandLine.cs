namespace SpatialNet.Cli;

/// <summary>Thrown for a malformed command line; the message says what is wrong and how to get help.</summary>
public sealed class UsageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UsageException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public UsageException() : base("invalid command line") { }

    /// <summary>Creates the exception.</summary>
    public UsageException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// A parsed command line: positional words, then <c>--name value</c> options and <c>--flag</c> switches.
/// Small on purpose: the tool's grammar is flat.
/// </summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly List<string> _sets = [];

    /// <summary>Parses <paramref name="args"/>. <paramref name="switches"/> lists options that take no value.</summary>
    public CommandLine(IReadOnlyList<string> args, IEnumerable<string>? switches = null)
    {
        var flags = new HashSet<string>(switches ?? [], StringComparer.Ordinal);
        var words = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                var name = a.Substring(2);
                string? value = null;
                int eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0) { value = name.Substring(eq + 1); name = name.Substring(0, eq); }
                else if (!flags.Contains(name))
                {
                    if (i + 1 >= args.Count) throw new UsageException($"option --{name} needs a value");
                    value = args[++i];
                }
                if (name == "set") { _sets.Add(value ?? string.Empty); continue; }
                if (_options.ContainsKey(name)) throw new UsageException($"option --{name} is given twice");
                _options[name] = value;
            }
            else
            {
                words.Add(a);
            }
        }
        Words = words;
    }

    /// <summary>Positional words (command, sub-command, arguments).</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>The values of the repeatable <c>--set key=value</c> option, in order.</summary>
    public IReadOnlyList<string> Sets => _sets;

    /// <summary>Whether the switch or option was given.</summary>
    public bool Has(string name) { _used.Add(name); return _options.ContainsKey(name); }

    /// <summary>The value of a required option.</summary>
    public string Required(string name) =>
        Optional(name) ?? throw new UsageException($"missing required option --{name}");

    /// <summary>The value of an optional option, or <c>null</c>.</summary>
    public string? Optional(string name)
    {
        _used.Add(name);
        return _options.TryGetValue(name, out var v) ? v : null;
    }

    /// <summary>An integer option with a default.</summary>
    public int Int(string name, int fallback)
    {
        var v = Optional(name);
        if (v is null) return fallback;
        return int.TryParse(v, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? n : throw new UsageException($"option --{name}: '{v}' is not an integer");
    }

    /// <summary>A floating-point option with a default.</summary>
    public double Double(string name, double fallback)
    {
        var v = Optional(name);
        if (v is null) return fallback;
        return double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d)
            ? d : throw new UsageException($"option --{name}: '{v}' is not a number");
    }

    /// <summary>Throws when an option was given that no command read (a typo, usually).</summary>
    public void RejectUnknown()
    {
        var unknown = _options.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"unknown option{(unknown.Count > 1 ? "s" : "")}: {string.Join(", ", unknown.Select(u => "--" + u))}");
    }
}
