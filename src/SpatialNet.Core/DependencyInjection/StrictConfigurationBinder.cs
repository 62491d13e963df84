using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace SpatialNet.DependencyInjection;

/// <summary>
/// Binds configuration onto options objects with <see cref="ConfigurationBinder"/>, strictly: keys and
/// enum values match property and member names ignoring case, <c>_</c> and <c>-</c> (so snake_case
/// files bind onto PascalCase options), a single value where a list is expected becomes a one-element
/// list, and every unknown key or unconvertible value is a problem naming its configuration path.
/// </summary>
internal static class StrictConfigurationBinder
{
    /// <summary>Binds <paramref name="section"/> onto <paramref name="instance"/>.</summary>
    /// <param name="section">The configuration (or one of its sections).</param>
    /// <param name="instance">The options object to fill; properties without a key keep their values.</param>
    /// <param name="path">The section's path for messages (e.g. <c>model</c>); null uses the section's own path.</param>
    /// <param name="skip">Keys of <paramref name="section"/> (normalised, see <see cref="Normalize"/>) that the caller binds itself.</param>
    /// <exception cref="ConfigurationException">Unknown keys or values that do not convert, each named.</exception>
    public static void Bind(IConfiguration section, object instance, string? path = null, IReadOnlySet<string>? skip = null)
    {
        var problems = new List<string>();
        Bind(section, instance, path, problems, skip);
        if (problems.Count > 0)
            throw new ConfigurationException(null, problems);
    }

    /// <summary>Binds <paramref name="section"/> onto <paramref name="instance"/>, adding each problem to <paramref name="problems"/>.</summary>
    /// <param name="section">The configuration (or one of its sections).</param>
    /// <param name="instance">The options object to fill.</param>
    /// <param name="path">The section's path for messages; null uses the section's own path.</param>
    /// <param name="problems">Receives one message per unknown key or unconvertible value.</param>
    /// <param name="skip">Keys of <paramref name="section"/> (normalised, see <see cref="Normalize"/>) that the caller binds itself.</param>
    public static void Bind(IConfiguration section, object instance, string? path, ICollection<string> problems, IReadOnlySet<string>? skip = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(problems);
        path ??= (section as IConfigurationSection)?.Path ?? string.Empty;
        var flat = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        int before = problems.Count;
        WalkObject(section, instance.GetType(), string.Empty, path, flat, problems, skip);
        if (problems.Count > before)
            return;
        try
        {
            var nulls = flat.Where(kv => kv.Value is null).Select(kv => kv.Key).ToList();
            foreach (var key in nulls)
                flat.Remove(key);
            new ConfigurationBuilder().AddInMemoryCollection(flat).Build()
                .Bind(instance, o => o.ErrorOnUnknownConfiguration = true);
            foreach (var key in nulls)
                SetNull(instance, key);
        }
        catch (InvalidOperationException e)
        {
            problems.Add(Join(path, string.Empty) + ": " + (e.InnerException?.Message is { } inner ? e.Message + " " + inner : e.Message));
        }
    }

    /// <summary>A key as compared with property names: lower case without <c>_</c> and <c>-</c>.</summary>
    public static string Normalize(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var sb = new StringBuilder(key.Length);
        foreach (var c in key)
        {
            if (c is not ('_' or '-'))
                sb.Append(char.ToLowerInvariant(c));
        }

        return sb.ToString();
    }

    /// <summary>The child of <paramref name="section"/> whose key normalises to <paramref name="name"/>'s, or null.</summary>
    public static IConfigurationSection? Child(IConfiguration section, string name)
    {
        ArgumentNullException.ThrowIfNull(section);
        var wanted = Normalize(name);
        return section.GetChildren().FirstOrDefault(c => Normalize(c.Key) == wanted);
    }

    /// <summary>A property name as written in configuration files (<c>EmbedDim</c> → <c>embed_dim</c>).</summary>
    public static string SnakeCase(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var sb = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1]))))
                sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }

        return sb.ToString();
    }

    private static void WalkObject(IConfiguration section, Type type, string key, string path, Dictionary<string, string?> flat,
        ICollection<string> problems, IReadOnlySet<string>? skip)
    {
        var properties = BindableProperties(type);
        var seen = new Dictionary<PropertyInfo, string>();
        foreach (var child in section.GetChildren())
        {
            var normalized = Normalize(child.Key);
            if (skip is not null && skip.Contains(normalized))
                continue;
            var childPath = Join(path, child.Key);
            if (!properties.TryGetValue(normalized, out var property))
            {
                problems.Add($"{childPath}: unknown key; allowed: {string.Join(", ", properties.Values.Select(p => SnakeCase(p.Name)).Order(StringComparer.Ordinal))}.");
                continue;
            }

            if (seen.TryGetValue(property, out var other))
            {
                problems.Add($"{childPath}: sets the same option as '{other}'; write one spelling of the key.");
                continue;
            }

            seen[property] = child.Key;
            if (typeof(Delegate).IsAssignableFrom(property.PropertyType))
            {
                problems.Add($"{childPath}: cannot be set from configuration (it is code).");
                continue;
            }

            WalkValue(child, property.PropertyType, Join(key, property.Name), childPath, flat, problems, IsNullable(property));
        }
    }

    // A JSON null (or an empty value) for a nullable option sets it to null; the binder would leave the default.
    private static void SetNull(object instance, string key)
    {
        var parts = key.Split(':');
        object? target = instance;
        for (int i = 0; i < parts.Length - 1 && target is not null; i++)
            target = Step(target, parts[i]);
        if (target is null)
            return;
        var last = parts[^1];
        if (target is IList list && int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            if (index < list.Count)
                list[index] = null;
            return;
        }

        target.GetType().GetProperty(last, BindingFlags.Public | BindingFlags.Instance)?.SetValue(target, null);
    }

    private static object? Step(object target, string part) =>
        target is IList list && int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? (i < list.Count ? list[i] : null)
        : target.GetType().GetProperty(part, BindingFlags.Public | BindingFlags.Instance)?.GetValue(target);

    private static bool IsNullable(PropertyInfo property) =>
        Nullable.GetUnderlyingType(property.PropertyType) is not null
        || (!property.PropertyType.IsValueType && new NullabilityInfoContext().Create(property).WriteState == NullabilityState.Nullable);

    private static void WalkValue(IConfigurationSection section, Type type, string key, string path, Dictionary<string, string?> flat,
        ICollection<string> problems, bool nullable)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        var children = section.GetChildren().ToList();
        if (IsScalar(underlying))
        {
            if (children.Count > 0)
            {
                problems.Add($"{path}: expected a single value, found an object or list.");
                return;
            }

            if (section.Value is null)
                return;
            if (section.Value.Length == 0)
            {
                // JSON null (read as an empty value) or an empty override: null where the option allows it, refused otherwise.
                if (nullable)
                    flat[key] = null;
                else if (underlying != typeof(string))
                    problems.Add($"{path} = null: allowed {(underlying.IsEnum ? string.Join(", ", Enum.GetNames(underlying).Select(SnakeCase)) : Describe(underlying))}; this option has no null value.");
                else
                    flat[key] = string.Empty;
                return;
            }
            if (underlying.IsEnum)
            {
                var wanted = Normalize(section.Value);
                var match = Enum.GetNames(underlying).FirstOrDefault(n => Normalize(n) == wanted);
                if (match is null)
                {
                    problems.Add($"{path} = \"{section.Value}\": allowed {string.Join(", ", Enum.GetNames(underlying).Select(SnakeCase))}.");
                    return;
                }

                flat[key] = match;
                return;
            }

            if (underlying != typeof(string) && !Converts(section.Value, underlying))
            {
                problems.Add($"{path} = \"{section.Value}\": allowed {Describe(underlying)}.");
                return;
            }

            flat[key] = section.Value;
            return;
        }

        if (DictionaryValueType(underlying) is { } valueType)
        {
            foreach (var child in children)
                WalkValue(child, valueType, Join(key, child.Key), Join(path, child.Key), flat, problems, Nullable.GetUnderlyingType(valueType) is not null);
            return;
        }

        if (ElementType(underlying) is { } elementType)
        {
            if (children.Count == 0)
            {
                // "target": "label" for a list of names: a list of one.
                if (!string.IsNullOrEmpty(section.Value) && IsScalar(Nullable.GetUnderlyingType(elementType) ?? elementType))
                    WalkValue(section, elementType, Join(key, "0"), path, flat, problems, false);
                return;
            }

            foreach (var child in children)
            {
                if (!int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    problems.Add($"{Join(path, child.Key)}: expected a list index (0, 1, …).");
                    continue;
                }

                WalkValue(child, elementType, Join(key, child.Key), Join(path, child.Key), flat, problems, Nullable.GetUnderlyingType(elementType) is not null);
            }

            return;
        }

        if (children.Count == 0)
        {
            if (!string.IsNullOrEmpty(section.Value))
                problems.Add($"{path} = \"{section.Value}\": expected an object.");
            return;
        }

        WalkObject(section, underlying, key, path, flat, problems, null);
    }

    private static bool Converts(string value, Type type)
    {
        try
        {
            _ = System.ComponentModel.TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException or OverflowException)
        {
            return false;
        }
    }

    private static string Describe(Type t) => t == typeof(bool) ? "true or false"
        : t == typeof(int) || t == typeof(long) || t == typeof(short) ? "an integer"
        : t == typeof(uint) || t == typeof(ulong) || t == typeof(ushort) || t == typeof(byte) ? "a non-negative integer"
        : t == typeof(double) || t == typeof(float) || t == typeof(decimal) ? "a number"
        : "a " + t.Name;

    private static Dictionary<string, PropertyInfo> BindableProperties(Type type)
    {
        var result = new Dictionary<string, PropertyInfo>(StringComparer.Ordinal);
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetIndexParameters().Length > 0 || !p.CanRead)
                continue;
            bool settable = p.SetMethod is { IsPublic: true };
            bool fillable = !IsScalar(Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType);
            if (settable || fillable)
                result.TryAdd(Normalize(p.Name), p);
        }

        return result;
    }

    private static bool IsScalar(Type t) =>
        t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan) || t == typeof(DateTime)
        || t == typeof(DateTimeOffset) || t == typeof(Guid) || t == typeof(Uri);

    private static Type? DictionaryValueType(Type t)
    {
        foreach (var i in t.GetInterfaces().Append(t))
        {
            if (i.IsGenericType && (i.GetGenericTypeDefinition() == typeof(IDictionary<,>) || i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
                && i.GetGenericArguments()[0] == typeof(string))
                return i.GetGenericArguments()[1];
        }

        return null;
    }

    private static Type? ElementType(Type t)
    {
        if (t.IsArray)
            return t.GetElementType();
        if (t == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(t))
            return null;
        foreach (var i in t.GetInterfaces().Append(t))
        {
            if (i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))
                return i.GetGenericArguments()[0];
        }

        return null;
    }

    private static string Join(string prefix, string key) => prefix.Length == 0 ? key : key.Length == 0 ? prefix : prefix + ":" + key;
}
