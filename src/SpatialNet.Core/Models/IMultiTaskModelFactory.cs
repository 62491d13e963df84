namespace SpatialNet.Models;

/// <summary>Builds a <see cref="MultiTaskModel"/> from the registered encoder factory and task heads.</summary>
public interface IMultiTaskModelFactory
{
    /// <summary>A new model with freshly initialised weights (the DI-registered <see cref="MultiTaskModel"/> is one such instance).</summary>
    MultiTaskModel Create();
}
