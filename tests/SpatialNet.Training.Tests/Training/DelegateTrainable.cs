using SpatialNet.Training.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Training;

/// <summary>A plain module and its loss as an <see cref="ITrainable"/>: the trainer's loop tested on a small MLP.</summary>
internal sealed class DelegateTrainable(nn.Module module, Func<IReadOnlyDictionary<string, Tensor>, TrainingLosses> computeLosses) : ITrainable
{
    public nn.Module Module { get; } = module;

    public TrainingLosses ComputeLosses(IReadOnlyDictionary<string, Tensor> batch) => computeLosses(batch);
}
