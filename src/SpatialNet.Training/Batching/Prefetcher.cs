using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using static TorchSharp.torch;

namespace SpatialNet.Training.Batching;

/// <summary>
/// Prepares the next batches of another <see cref="IBatchSource"/> on a background thread while the
/// current training step runs, so the host-side cost of making a batch (index draws, kernel
/// launches, any host work of the source) overlaps the step instead of adding to it.
/// </summary>
/// <remarks>
/// <para>The wrapped source is enumerated on one background thread, <see cref="Depth"/> batches
/// ahead, in order; the sequence is exactly the source's. Each batch is made inside its own dispose
/// scope on that thread, so the source's temporaries are freed there. Tensors the source created for
/// the batch reach the consumer as aliases (same storage) made on the consumer's thread in its
/// current dispose scope — a trainer step frees them as usual — while the background thread frees
/// its own handles once the consumer has them. Every tensor is thus created and freed on one
/// thread, which keeps TorchSharp's per-thread live-tensor counts
/// (<c>DisposeScopeManager.Statistics</c>) meaningful. Tensors the source keeps across batches (not
/// created for the batch) are passed through untouched.</para>
/// <para>CUDA work the source issues goes to the same (default) stream as the training step, so it
/// is ordered before the step that uses the batch; what overlaps is the host time, which is what
/// bounds small steps. An exception of the source is rethrown by the consumer's next <c>MoveNext</c>.
/// Stopping the enumeration early stops the background thread and frees the batches it made ahead.</para>
/// </remarks>
internal sealed class Prefetcher : IBatchSource
{
    /// <summary>Wraps <paramref name="source"/>.</summary>
    /// <param name="source">The source to read ahead.</param>
    /// <param name="depth">Batches prepared ahead of the one in use, ≥ 1.</param>
    public Prefetcher(IBatchSource source, int depth = 1)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(depth);
        Source = source;
        Depth = depth;
    }

    /// <summary>The wrapped source.</summary>
    public IBatchSource Source { get; }

    /// <summary>Batches prepared ahead.</summary>
    public int Depth { get; }

    /// <inheritdoc />
    public int BatchesPerEpoch => Source.BatchesPerEpoch;

    /// <inheritdoc />
    public IEnumerable<IReadOnlyDictionary<string, Tensor>> GetBatches(int epoch, int startBatch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        return Iterate(epoch, startBatch);
    }

    private IEnumerable<IReadOnlyDictionary<string, Tensor>> Iterate(int epoch, int startBatch)
    {
        using var run = new Run(Source, epoch, startBatch, Depth);
        foreach (var item in run.Queue.GetConsumingEnumerable())
        {
            if (item.Error is not null)
                ExceptionDispatchInfo.Throw(item.Error);
            var batch = new Dictionary<string, Tensor>(item.Batch!.Count, StringComparer.Ordinal);
            foreach (var (key, t) in item.Batch)
                batch[key] = item.Owned.Contains(t) ? t.alias() : t;
            run.Returned.Enqueue(item);
            yield return batch;
        }
    }

    /// <summary>One enumeration: the background producer and the queues between it and the consumer.</summary>
    private sealed class Run : IDisposable
    {
        private readonly IBatchSource _source;
        private readonly int _epoch;
        private readonly int _startBatch;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _producer;

        public Run(IBatchSource source, int epoch, int startBatch, int depth)
        {
            (_source, _epoch, _startBatch) = (source, epoch, startBatch);
            Queue = new BlockingCollection<Prepared>(depth);
            _producer = Task.Factory.StartNew(Produce, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        /// <summary>Batches made ahead, in order.</summary>
        public BlockingCollection<Prepared> Queue { get; }

        /// <summary>Batches the consumer has taken; the producer frees its handles of them.</summary>
        public ConcurrentQueue<Prepared> Returned { get; } = new();

        public void Dispose()
        {
            // The producer frees what it made (taken or not) on its own thread, then exits.
            _stop.Cancel();
            _producer.Wait();
            _stop.Dispose();
            Queue.Dispose();
        }

        private void Produce()
        {
            var stop = _stop.Token;
            try
            {
                using var noGrad = no_grad();
                using var batches = _source.GetBatches(_epoch, _startBatch).GetEnumerator();
                while (!stop.IsCancellationRequested)
                {
                    ReleaseReturned();
                    Prepared item;
                    using (var scope = NewDisposeScope())
                    {
                        if (!batches.MoveNext())
                            break;
                        var batch = batches.Current;
                        var owned = new HashSet<Tensor>(batch.Values.Where(scope.Contains), ReferenceEqualityComparer.Instance);
                        scope.Detach(owned);
                        item = new Prepared(batch, owned, null);
                    }
                    try
                    {
                        Queue.Add(item, stop);
                    }
                    catch (OperationCanceledException)
                    {
                        item.Release();
                        break;
                    }
                }
            }
            catch (Exception e)
            {
                try
                {
                    Queue.Add(new Prepared(null, [], e), stop);
                }
                catch (OperationCanceledException)
                {
                    // The consumer has gone; nobody is left to see the error.
                }
            }
            finally
            {
                Queue.CompleteAdding();
                // Stay until the consumer is done, so every tensor made on this thread is freed on it.
                stop.WaitHandle.WaitOne();
                ReleaseReturned();
                while (Queue.TryTake(out var pending))
                    pending.Release();
            }
        }

        private void ReleaseReturned()
        {
            while (Returned.TryDequeue(out var done))
                done.Release();
        }
    }

    private sealed record Prepared(IReadOnlyDictionary<string, Tensor>? Batch, HashSet<Tensor> Owned, Exception? Error)
    {
        public void Release()
        {
            foreach (var t in Owned)
                t.Dispose();
        }
    }
}
