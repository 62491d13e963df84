using System.Runtime.CompilerServices;
using SpatialNet.Runtime;
using TorchSharp;

namespace SpatialNet.Training.Tests;

/// <summary>Runs once when the test assembly loads: natives loaded, one torch thread (2 shared cores).</summary>
internal static class TestSetup
{
    [ModuleInitializer]
    internal static void Init()
    {
        TorchNativeRuntime.EnsureInitialized();
        torch.set_num_threads(1);
    }
}
