using System.Diagnostics.CodeAnalysis;
using SpatialNet.Heads;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Models;

/// <summary>
/// The task heads of a <see cref="MultiTaskModel"/>, registered as submodules under their task names
/// (state-dict names <c>heads.{task}.*</c>, as a <c>ModuleDict</c> gives).
/// </summary>
/// <remarks>
/// Used instead of TorchSharp's <c>ModuleDict</c>: that class has two public indexers (by name and by
/// position), and TorchSharp 0.107's <c>Module.to(device)</c> / <c>Module.to(dtype)</c> indexes a
/// module's public properties by name, so moving or casting a model that contains a <c>ModuleDict</c>
/// fails with "An item with the same key has already been added. Key: Item".
/// </remarks>
internal sealed class TaskHeadModules : nn.Module
{
    private readonly Dictionary<string, TaskHead> byName = new(StringComparer.Ordinal);

    public TaskHeadModules(IEnumerable<TaskHead> heads) : base("TaskHeads")
    {
        foreach (var head in heads)
        {
            byName.Add(head.TaskName, head);
            register_module(head.TaskName, head);
        }
    }

    public bool TryGetValue(string task, [MaybeNullWhen(false)] out TaskHead head) => byName.TryGetValue(task, out head);
}
