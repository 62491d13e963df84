using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Docs;

/// <summary>
/// Every <c>```csharp</c> block of docs/*.md compiles: each file's blocks, in order, as one program (statements in one method,
/// type declarations beside it) with the usings the file shows, against the built assemblies (Roslyn in process, no packing).
/// Names a block takes from its prose (a model, a logger, images) are declared in an HTML comment before the block:
/// <c>&lt;!-- given: MultiTaskModel model; ILogger logger --&gt;</c>.
/// </summary>
public sealed partial class DocsCodeTests
{
    public static TheoryData<string> Files() => [.. Directory.GetFiles(Path.Combine(Repository.Root(), "docs"), "*.md")
        .Where(f => CSharpBlock().IsMatch(File.ReadAllText(f))).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    [SkippableTheory]
    [MemberData(nameof(Files))]
    public void Csharp_blocks_compile(string file)
    {
        var text = File.ReadAllText(Path.Combine(Repository.Root(), "docs", file));
        Skip.If(text.Contains("using Microsoft.AspNetCore", StringComparison.Ordinal) && !AspNetCoreInstalled(),
            "the ASP.NET Core shared framework is not installed beside the .NET runtime (the hosting example references it)");
        var usings = new List<string>();
        var given = new List<string>();
        var statements = new StringBuilder();
        var types = new StringBuilder();
        foreach (Match block in CSharpBlock().Matches(text))
        {
            given.AddRange(block.Groups["given"].Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            var line = text[..block.Index].Count(c => c == '\n') + 2;
            var unit = (CompilationUnitSyntax)CSharpSyntaxTree.ParseText(block.Groups["code"].Value).GetRoot();
            usings.AddRange(unit.Usings.Select(u => u.ToString().Trim()));
            foreach (var member in unit.Members)
            {
                var target = member is GlobalStatementSyntax ? statements : types;
                target.Append($"#line {line + member.GetLocation().GetLineSpan().StartLinePosition.Line} \"{file}\"\n").Append(member.ToFullString().Trim()).Append('\n');
            }
        }
        // A new console app's implicit usings (dotnet new console), then the file's own.
        string[] implicitUsings = ["using System;", "using System.IO;", "using System.Collections.Generic;", "using System.Linq;", "using System.Net.Http;", "using System.Threading;", "using System.Threading.Tasks;"];
        var program = $"{string.Join('\n', implicitUsings.Concat(usings).Distinct(StringComparer.Ordinal))}\n#pragma warning disable\n" +
            $"internal static class DocsProgram\n{{\n    internal static async System.Threading.Tasks.Task Run({string.Join(", ", given.Distinct(StringComparer.Ordinal))})\n    {{\n{statements}\n#line default\n        await System.Threading.Tasks.Task.CompletedTask;\n    }}\n}}\n{types}";
        var compilation = CSharpCompilation.Create("Docs_" + Path.GetFileNameWithoutExtension(file).Replace('-', '_'),
            [CSharpSyntaxTree.ParseText(program, new CSharpParseOptions(LanguageVersion.Preview))], References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var stream = new MemoryStream();
        var errors = compilation.Emit(stream).Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.True(errors.Count == 0, $"docs/{file} does not compile:\n{string.Join('\n', errors)}\n\n{program}");
    }

    private static string AspNetCoreFolder()
    {
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        return Path.GetFullPath(Path.Combine(runtime, "..", "..", "Microsoft.AspNetCore.App", Path.GetFileName(runtime)));
    }

    private static bool AspNetCoreInstalled() => Directory.Exists(AspNetCoreFolder());

    // The test's own assemblies (SpatialNet, TorchSharp, Microsoft.Extensions.*, …), the runtime's, and ASP.NET Core's shared framework (the hosting example).
    private static readonly Lazy<List<MetadataReference>> References = new(() =>
    {
        var byName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var aspnet = AspNetCoreFolder();
        foreach (var folder in new[] { AppContext.BaseDirectory, runtime, aspnet }.Where(Directory.Exists))
        {
            foreach (var dll in Directory.GetFiles(folder, "*.dll"))
            {
                try
                {
                    byName.TryAdd(AssemblyName.GetAssemblyName(dll).Name!, dll);
                }
                catch (BadImageFormatException)
                {
                    // a native library
                }
            }
        }
        return [.. byName.Values.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    });

    [GeneratedRegex(@"(?:<!--\s*given:(?<given>[^\n]*?)-->\s*\n)?```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
