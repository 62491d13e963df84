using System.Reflection;
using System.Reflection.Emit;
using SpatialNet.Modules;
using SpatialNet.Training.Pipeline;
using Xunit;

namespace SpatialNet.Training.Tests.Docs;

/// <summary>
/// The layering of docs/architecture.md holds in the compiled code: no two namespaces of a library use
/// each other, directly or through others. Uses are read from signatures and from every method body's IL.
/// </summary>
public sealed class NamespaceLayeringTests
{
    [Theory]
    [InlineData("SpatialNet.Core")]
    [InlineData("SpatialNet.Training")]
    [InlineData("SpatialNet.Cli")]
    public void Namespaces_form_no_cycles(string library)
    {
        var assembly = library switch
        {
            "SpatialNet.Core" => typeof(VisionTransformer).Assembly,
            "SpatialNet.Training" => typeof(TrainingPipeline).Assembly,
            _ => typeof(SpatialNet.Cli.Cli).Assembly,
        };
        var graph = Graph(assembly);
        var cycles = StronglyConnected(graph).Where(c => c.Count > 1).ToList();

        var report = string.Join("\n", cycles.Select(c => string.Join("\n", c.SelectMany(a => c.Where(b => graph[a].ContainsKey(b))
            .Select(b => $"  {a} -> {b} ({string.Join(", ", graph[a][b].Take(4))})")))));
        Assert.True(cycles.Count == 0, $"namespace cycles in {library}:\n{report}");
    }

    [Fact]
    public void The_reader_sees_uses_inside_method_bodies()
    {
        // Independent check of the reader itself: this test class's own body uses TrainingPipeline only in IL.
        var uses = UsedTypes(typeof(Probe)).Select(t => t.FullName).ToList();
        Assert.Contains(typeof(TrainingPipeline).FullName, uses);
        Assert.Contains(typeof(VisionTransformer).FullName, uses);
    }

    private sealed class Probe
    {
        public static object Use() => new object[] { typeof(TrainingPipeline), nameof(VisionTransformer), Array.Empty<VisionTransformer>() };
    }

    private static Dictionary<string, Dictionary<string, SortedSet<string>>> Graph(Assembly assembly)
    {
        var graph = new Dictionary<string, Dictionary<string, SortedSet<string>>>();
        foreach (var type in assembly.GetTypes().Where(t => !CompilerMade(t)))
        {
            var from = Outermost(type).Namespace ?? "";
            if (!graph.ContainsKey(from)) graph[from] = [];
            foreach (var used in UsedTypes(type))
            {
                if (used.Assembly != assembly || CompilerMade(used)) continue;
                var to = Outermost(used).Namespace ?? "";
                if (to == from) continue;
                if (!graph[from].TryGetValue(to, out var via)) graph[from][to] = via = [];
                via.Add($"{Outermost(type).Name} uses {Outermost(used).Name}");
            }
        }

        foreach (var to in graph.Values.SelectMany(v => v.Keys).ToList())
        {
            if (!graph.ContainsKey(to)) graph[to] = [];
        }

        return graph;
    }

    // Compiler-made helpers (collection-expression arrays, <PrivateImplementationDetails>) live in the global namespace.
    private static bool CompilerMade(Type type) => Outermost(type).Name.StartsWith('<');

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is not null) type = type.DeclaringType;
        return type;
    }

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static HashSet<Type> UsedTypes(Type type)
    {
        var used = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null) return;
            if (t.HasElementType) { Add(t.GetElementType()); return; }
            if (t.IsGenericParameter) return;
            if (!used.Add(t)) return;
            if (t.IsGenericType) foreach (var a in t.GetGenericArguments()) Add(a);
        }

        Add(type.BaseType);
        foreach (var i in type.GetInterfaces()) Add(i);
        foreach (var f in type.GetFields(All)) Add(f.FieldType);
        foreach (var p in type.GetProperties(All)) Add(p.PropertyType);
        foreach (var m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (m is MethodInfo mi) Add(mi.ReturnType);
            foreach (var p in m.GetParameters()) Add(p.ParameterType);
            foreach (var t in BodyTypes(m)) Add(t);
        }

        return used;
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>Types named by the metadata tokens of a method body (calls, fields, casts, allocations, ldtoken).</summary>
    private static IEnumerable<Type> BodyTypes(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (BadImageFormatException) { il = null; }
        if (il is null) yield break;

        var typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var i = 0;
        while (i < il.Length)
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            var op = OpCodesByValue[value];
            switch (op.OperandType)
            {
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                    var token = BitConverter.ToInt32(il, i);
                    MemberInfo? member = null;
                    try { member = method.Module.ResolveMember(token, typeArgs, methodArgs); }
                    catch (Exception e) when (e is ArgumentException or BadImageFormatException or TypeLoadException or FileNotFoundException or MissingMemberException) { }
                    if (member is Type t) yield return t;
                    else if (member is not null)
                    {
                        if (member.DeclaringType is { } dt) yield return dt;
                        if (member is FieldInfo fi) yield return fi.FieldType;
                        if (member is MethodInfo mi) yield return mi.ReturnType;
                    }

                    i += 4;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + 4 * BitConverter.ToInt32(il, i);
                    break;
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: i += 1; break;
                case OperandType.InlineVar: i += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: i += 8; break;
                default: i += 4; break;
            }
        }
    }

    /// <summary>Tarjan's strongly connected components.</summary>
    private static List<List<string>> StronglyConnected(Dictionary<string, Dictionary<string, SortedSet<string>>> graph)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<List<string>>();
        var counter = 0;

        void Visit(string v)
        {
            index[v] = low[v] = counter++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph[v].Keys)
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }

            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != v);
            result.Add(component);
        }

        foreach (var v in graph.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            if (!index.ContainsKey(v)) Visit(v);
        }

        return result;
    }
}
