using SpatialNet.Training.Transforms;
using SpatialNet.Training.Pipeline;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Pipeline;

/// <summary>Helpers of the pipeline tests.</summary>
internal static class PipelineTensors
{
    /// <summary>Independent reference for a dihedral transform: torch's own flip and rot90 on one sample [C, H, W].</summary>
    public static Tensor Dihedral(Tensor sample, DihedralTransform t)
    {
        var x = t.FlipHorizontal ? sample.flip(-1) : sample.alias();
        return t.QuarterTurns == 0 ? x : x.rot90(t.QuarterTurns, (-2, -1));
    }

    /// <summary>Same shape, dtype and values.</summary>
    public static bool Same(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
