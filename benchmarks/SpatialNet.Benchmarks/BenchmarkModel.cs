using SpatialNet.Training.Batching;
using Microsoft.Extensions.DependencyInjection;
using SpatialNet.DependencyInjection;
using SpatialNet.Losses;
using SpatialNet.Models;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Benchmarks;

/// <summary>
/// The benchmarked model, built the way a host application builds it: <c>AddSpatialNet</c> with the
/// Vision Transformer and one classification task (or the tasks a mode adds instead), resolved from
/// the container, moved to the device.
/// </summary>
internal sealed class BenchmarkModel : IDisposable
{
    public const string TaskName = "land_use";
    public const string ImageKey = "image";

    private readonly ServiceProvider _provider;

    /// <param name="o">Encoder size (and classes).</param>
    /// <param name="device">Where the model goes.</param>
    /// <param name="addTasks">The task heads; null adds the classification task <see cref="TaskName"/> with <see cref="BenchmarkOptions.Classes"/> classes.</param>
    public BenchmarkModel(BenchmarkOptions o, Device device, Action<SpatialNetBuilder>? addTasks = null)
    {
        var services = new ServiceCollection();
        services.AddSpatialNet(sn =>
        {
            sn.UseVisionTransformer(v =>
            {
                v.Depth = o.Depth;
                v.EmbedDim = o.Dim;
                v.NumHeads = o.Heads;
                v.PatchSize = o.Patch;
                v.ImageSize = o.Image;
                v.InChannels = 3;
            });
            if (addTasks is null)
                sn.AddClassificationTask(TaskName, o.Classes);
            else
                addTasks(sn);
            // The PyTorch reference has no L2 term: AdamW's decoupled weight decay regularises both.
            sn.UseL2(0);
        });
        _provider = services.BuildServiceProvider();
        _provider.ValidateSpatialNet();
        torch.manual_seed(0);
        Model = _provider.GetRequiredService<IMultiTaskModelFactory>().Create();
        Model.to(device);
        Trainable = new MultiTaskTrainable(Model, _provider.GetRequiredService<ILossComposer>(), _provider.GetRequiredService<L2Regularization>());
        Parameters = Model.parameters().Sum(p => p.numel());
    }

    public MultiTaskModel Model { get; }

    public ITrainable Trainable { get; }

    public long Parameters { get; }

    public void Dispose()
    {
        Model.Dispose();
        _provider.Dispose();
    }

    /// <summary>
    /// Batches for the run: the reference's single random batch (in the compute dtype, so no cast per
    /// step), or the device pipeline over random uint8 images.
    /// </summary>
    public static IBatchSource CreateInput(BenchmarkOptions o, Device device, int batchesPerEpoch, out IDisposable owner)
    {
        var dtype = o.ComputeDType;
        using var scope = NewDisposeScope();
        using var generator = SeededGenerator(device, 1);
        if (o.Input == InputKind.Fixed)
        {
            var x = randn([o.Batch, 3, o.Image, o.Image], dtype: ScalarType.Float32, device: device, generator: generator).to(dtype);
            var y = randint(0, o.Classes, [o.Batch], ScalarType.Int64, device, generator: generator);
            var source = new FixedBatchSource(new Dictionary<string, Tensor> { [ImageKey] = x, [TaskName] = y }, batchesPerEpoch);
            owner = source;
            return source;
        }
        var cache = CreateCache(o, device, dtype, generator);
        owner = cache;
        return new Prefetcher(cache, depth: 2);
    }

    /// <summary>
    /// A generator for random data on <paramref name="device"/>. TorchSharp 0.107 creates CPU
    /// generators only, so for CUDA the device's default generator is seeded instead and null returned.
    /// </summary>
    public static Generator? SeededGenerator(Device device, long seed)
    {
        if (device.type != DeviceType.CUDA)
            return new Generator((ulong)seed, device);
        cuda.manual_seed(seed);
        return null;
    }

    /// <summary>A <see cref="DeviceBatchCache"/> of <see cref="BenchmarkOptions.Samples"/> random uint8 images with labels.</summary>
    public static DeviceBatchCache CreateCache(BenchmarkOptions o, Device device, ScalarType dtype, Generator? generator)
    {
        using var scope = NewDisposeScope();
        var images = randint(0, 256, [o.Samples, 3, o.Image, o.Image], ScalarType.Byte, device, generator: generator);
        var labels = randint(0, o.Classes, [o.Samples], ScalarType.Int64, device, generator: generator);
        return new DeviceBatchCache(images, new Dictionary<string, Tensor> { [TaskName] = labels }, new DeviceBatchCacheOptions
        {
            Device = device,
            BatchSize = o.Batch,
            DropLast = true,
            Seed = 1,
            // ImageNet statistics, as for an ImageNet-pretrained encoder.
            Mean = [0.485, 0.456, 0.406],
            Std = [0.229, 0.224, 0.225],
            OutputDType = dtype,
            Augmentation = AugmentationMode.FlipsAndRotations,
        });
    }
}

/// <summary>The same batch every step (its tensors belong to this source, not to any step's scope).</summary>
internal sealed class FixedBatchSource : IBatchSource, IDisposable
{
    private readonly Dictionary<string, Tensor> _batch;

    public FixedBatchSource(IReadOnlyDictionary<string, Tensor> batch, int batchesPerEpoch)
    {
        _batch = batch.ToDictionary(kv => kv.Key, kv => kv.Value.DetachFromDisposeScope(), StringComparer.Ordinal);
        BatchesPerEpoch = batchesPerEpoch;
    }

    public int BatchesPerEpoch { get; }

    public IEnumerable<IReadOnlyDictionary<string, Tensor>> GetBatches(int epoch, int startBatch = 0)
    {
        for (int b = startBatch; b < BatchesPerEpoch; b++)
            yield return _batch;
    }

    public void Dispose()
    {
        foreach (var t in _batch.Values)
            t.Dispose();
    }
}
