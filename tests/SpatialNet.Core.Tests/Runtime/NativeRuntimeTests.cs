using FluentAssertions;
using SpatialNet.Runtime;
using TorchSharp;
using Xunit;

namespace SpatialNet.Core.Tests.Runtime;

public class NativeRuntimeTests
{
    [Fact]
    public void TorchSharpLoadsWithoutManualSteps()
    {
        var report = TorchNativeRuntime.EnsureInitialized();
        using var t = torch.ones(2, 3);
        t.sum().item<float>().Should().Be(6f);
        report.Action.Should().NotBe("nothing yet");
    }
}
