using SpatialNet.Training.Batching;
using SpatialNet.IO;
using System.Runtime.InteropServices;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SpatialNet.Training.Checkpoints;
using SpatialNet.Training.Optimization;
using SpatialNet.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;
using SpatialNet.Training.Evaluation;

namespace SpatialNet.Training.Engine;

/// <summary>
/// Trains an <see cref="ITrainable"/> on an <see cref="IBatchSource"/>: AdamW over flat parameter
/// buffers with decay/no-decay groups, warm-up + cosine schedule, gradient clipping, optional bf16
/// mixed precision, evaluation every epoch, early stopping on a named metric, atomic checkpoints
/// that resume bit-for-bit on CPU, metric history (JSON, CSV), PNG curves, <see cref="ILogger"/>
/// logging and a console progress line.
/// </summary>
/// <remarks>
/// Create the model on its device before the trainer: the trainer flattens (and under mixed
/// precision casts) the model's parameters in its constructor. Each step runs in one dispose scope
/// that also owns the batch, so steps leave no tensors behind.
/// </remarks>
public sealed partial class Trainer : IDisposable
{
    /// <summary>Metadata key of the trainer's own state (history, early stopping, epoch sums) inside checkpoints.</summary>
    public const string TrainerStateKey = "spatialnet.trainer";

    /// <summary>File name of the checkpoint written when the cancellation token stops training (also written as <see cref="LastCheckpointName"/>).</summary>
    public const string InterruptedCheckpointName = "interrupted.safetensors";

    /// <summary>File name of the most recent checkpoint in <see cref="TrainerOptions.CheckpointDirectory"/>.</summary>
    public const string LastCheckpointName = "last.safetensors";

    /// <summary>Metadata key of the model's host-side state (<see cref="ITrainable.SaveState"/>) inside checkpoints.</summary>
    public const string TrainableStateKey = "spatialnet.trainable";

    /// <summary>File name of the checkpoint with the best monitored metric.</summary>
    public const string BestCheckpointName = "best.safetensors";

    /// <summary>Name of the gradient-norm column in epoch means.</summary>
    public const string GradientNormName = "grad_norm";

    private static readonly JsonSerializerOptions StateJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly ITrainable _model;
    private readonly IBatchSource _source;
    private readonly TrainerOptions _options;
    private readonly IEvaluator? _evaluator;
    private readonly ILogger _logger;
    private readonly List<ITrainerCallback> _callbacks = [];
    private bool _stopRequested;
    private readonly FlatParameterBuffers _buffers;
    private readonly FlatAdamW _optimizer;
    private readonly WarmupCosineSchedule _schedule;
    private readonly EarlyStopping? _monitor;
    private readonly Device _device;
    private readonly ScalarType? _computeDType;
    private readonly List<PendingStep> _pending = [];
    private readonly Dictionary<string, (double Sum, long Count)> _epochSums = new(StringComparer.Ordinal);
    private readonly Stopwatch _runClock = new();
    private double _elapsedBefore;
    private long _stepsThisRun;
    private double _lastFactor;
    private bool _checkedLossDType;
    private bool _disposed;
    private int _epoch;
    private int _batchInEpoch;
    private long _globalStep;

    /// <summary>Creates the trainer: flattens the model's parameters into the optimizer's buffers.</summary>
    /// <param name="model">The model (already on its device).</param>
    /// <param name="trainBatches">Training batches.</param>
    /// <param name="options">Settings; default <see cref="TrainerOptions"/>.</param>
    /// <param name="evaluator">Evaluation after each epoch, or <c>null</c>.</param>
    /// <param name="logger">Logger, or <c>null</c>.</param>
    /// <param name="progress">Progress sink; default a <see cref="ConsoleProgressDisplay"/> when <see cref="TrainerOptions.ShowProgress"/>.</param>
    /// <param name="callbacks">
    /// The run's callbacks; null: <see cref="StandardCallbacks"/> (checkpoints, early stopping). They are called after
    /// <see cref="ProgressCallback"/> (the progress sink) and, with <see cref="TrainerOptions.OutputDirectory"/>,
    /// <see cref="HistoryCallback"/> (history files and charts).
    /// </param>
    public Trainer(ITrainable model, IBatchSource trainBatches, TrainerOptions? options = null, IEvaluator? evaluator = null,
        ILogger? logger = null, ITrainingProgress? progress = null, IEnumerable<ITrainerCallback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainBatches);
        _options = options ?? new TrainerOptions();
        _options.Validate();
        if (trainBatches.BatchesPerEpoch < 1)
            throw new ArgumentException($"The batch source has {trainBatches.BatchesPerEpoch} batches per epoch; at least 1 is needed.", nameof(trainBatches));
        _model = model;
        _source = trainBatches;
        _evaluator = evaluator;
        _logger = logger ?? NullLogger.Instance;
        _callbacks.Add(new ProgressCallback(progress ?? (_options.ShowProgress ? new ConsoleProgressDisplay() : NullTrainingProgress.Instance)));
        if (_options.OutputDirectory is { } outputs)
            _callbacks.Add(new HistoryCallback(outputs, _options.WriteCharts, _logger));
        if (_options.TensorBoard && _options.OutputDirectory is { } board)
            _callbacks.Add(new TensorBoardCallback(Path.Combine(board, TensorBoardCallback.FolderName), evaluator?.Split));
        _callbacks.AddRange(callbacks ?? StandardCallbacks());

        if (_options.Seed is ulong seed)
            torch.manual_seed(unchecked((long)seed));
        Random = new SeededRandom(_options.Seed ?? 0);

        if (model.L2 is { Lambda: > 0 } l2 && !_options.CombineL2AndWeightDecay
            && (_options.ParameterGroups?.Any(g => (g.WeightDecay ?? _options.WeightDecay) > 0) ?? _options.WeightDecay > 0))
            throw new ArgumentException(
                $"The model's loss has the L2 term (λ_reg = {l2.Lambda.ToString(System.Globalization.CultureInfo.InvariantCulture)}) and " +
                $"TrainerOptions.WeightDecay = {_options.WeightDecay.ToString(System.Globalization.CultureInfo.InvariantCulture)} adds AdamW decay on top; " +
                "set one of them to 0, or TrainerOptions.CombineL2AndWeightDecay = true to apply both.", nameof(options));
        var groups = _options.ParameterGroups
            ?? Optimization.ParameterGroups.DecayAndNoDecay(_options.NoWeightDecay ?? SpatialNet.Modules.NoWeightDecay.For(model.Module));
        _buffers = new FlatParameterBuffers(model.Module, groups, _options.Precision);
        if (_buffers.Buckets.Count == 0)
        {
            _buffers.Dispose();
            throw new ArgumentException("The model has no trainable parameters.", nameof(model));
        }
        _optimizer = new FlatAdamW(_buffers, new FlatAdamWOptions
        {
            LearningRate = _options.LearningRate,
            WeightDecay = _options.WeightDecay,
            Beta1 = _options.Beta1,
            Beta2 = _options.Beta2,
            Eps = _options.Eps,
        });
        TotalSteps = (long)_options.Epochs * trainBatches.BatchesPerEpoch;
        if (_options.WarmupSteps >= TotalSteps)
        {
            _buffers.Dispose();
            throw new ArgumentOutOfRangeException(nameof(TrainerOptions.WarmupSteps), _options.WarmupSteps,
                $"trainer:warmup_steps = {_options.WarmupSteps} covers the whole run ({TotalSteps} steps = {_options.Epochs} epochs × {trainBatches.BatchesPerEpoch} batches); allowed fewer steps than that.");
        }
        long warmup = _options.WarmupSteps > 0 ? _options.WarmupSteps : (long)Math.Round(_options.WarmupFraction * TotalSteps);
        _schedule = new WarmupCosineSchedule(TotalSteps, Math.Min(warmup, TotalSteps), _options.MinLrRatio);
        if (_options.MonitorMetric is { } metric)
        {
            int patience = _options.EarlyStoppingPatience == 0 ? int.MaxValue : _options.EarlyStoppingPatience;
            var mode = _options.MonitorMode ?? MetricModes.Of(metric);
            _monitor = new EarlyStopping(metric, mode, patience, _options.EarlyStoppingMinDelta);
        }
        _device = _buffers.Buckets[0].Device;
        _computeDType = MixedPrecision.ComputeDType(_buffers.Precision);
    }

    /// <summary>The callbacks a trainer runs unless told otherwise: <see cref="CheckpointCallback"/> and <see cref="EarlyStoppingCallback"/>.</summary>
    public static IReadOnlyList<ITrainerCallback> StandardCallbacks() => [new CheckpointCallback(), new EarlyStoppingCallback()];

    /// <summary>The model.</summary>
    public ITrainable Model => _model;

    /// <summary>The training batches.</summary>
    public IBatchSource BatchSource => _source;

    /// <summary>Settings.</summary>
    public TrainerOptions Options => _options;

    /// <summary>The split the evaluator scores each epoch (charts and TensorBoard name it), or null without one.</summary>
    internal string? EvaluatedSplit => _evaluator?.Split;

    /// <summary>
    /// The precision this trainer runs in: <see cref="TrainerOptions.Precision"/> with
    /// <see cref="PrecisionMode.Auto"/> resolved against the model's device (bf16 mixed on CUDA, float32 elsewhere).
    /// </summary>
    public PrecisionMode Precision => _buffers.Precision;

    /// <summary>The optimizer (its <see cref="FlatAdamW.Parameters"/> are the flat buffers).</summary>
    internal FlatAdamW Optimizer => _optimizer;

    /// <summary>The learning-rate schedule.</summary>
    public ILearningRateSchedule Schedule => _schedule;

    /// <summary>Early stopping / best-checkpoint monitor, or <c>null</c> without <see cref="TrainerOptions.MonitorMetric"/>.</summary>
    public EarlyStopping? Monitor => _monitor;

    /// <summary>
    /// Host-side random generator saved in checkpoints; use it (or seeds derived from it) for any
    /// host randomness the run must reproduce after a resume.
    /// </summary>
    internal SeededRandom Random { get; }

    /// <summary>Steps of the whole run (epochs × batches per epoch).</summary>
    public long TotalSteps { get; }

    /// <summary>Where training stands.</summary>
    public TrainingPosition Position => new(_epoch, _batchInEpoch, _globalStep);

    /// <summary>Losses and metrics so far (per-step values appear after they are read back).</summary>
    public MetricHistory History { get; private set; } = new();

    /// <summary>
    /// Trains from <see cref="Position"/> until all epochs ran, the monitored metric stops improving,
    /// <see cref="TrainerOptions.MaxSteps"/> is reached or <paramref name="cancellationToken"/> fires.
    /// When stopped mid-epoch it saves <c>last.safetensors</c> (if a checkpoint folder is set).
    /// </summary>
    public TrainingResult Fit(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _runClock.Restart();
        _stepsThisRun = 0;
        _model.Module.train();
        Log.Starting(_logger, _buffers.NumElements, _buffers.Buckets.Count, _buffers.Precision, _device.ToString(),
            _epoch + 1, _options.Epochs, _source.BatchesPerEpoch, _globalStep);

        var reason = StopReason.Completed;
        string? lastCheckpoint = null;
        _stopRequested = false;
        while (_epoch < _options.Epochs)
        {
            var (epochDone, stop) = RunEpochBatches(cancellationToken);
            if (epochDone && EndEpoch())
            {
                reason = StopReason.EarlyStopped;
                if (_monitor is { ShouldStop: true })
                    Log.EarlyStopped(_logger, _monitor.Metric, _monitor.Patience, _monitor.BestEpoch, _monitor.BestValue ?? double.NaN);
                else
                    Log.Interrupted(_logger, reason, _globalStep);
                break;
            }
            if (stop is StopReason s)
            {
                // The checkpoint callback saves the interrupted position in OnCompleted, so that ResumeFrom continues exactly here.
                reason = s;
                FlushLosses();
                Log.Interrupted(_logger, s, _globalStep);
                break;
            }
        }
        foreach (var c in _callbacks)
            c.OnCompleted(this, reason);
        if (_options.CheckpointDirectory is { } dir && File.Exists(Path.Combine(dir, LastCheckpointName)))
            lastCheckpoint = Path.Combine(dir, LastCheckpointName);
        string? best = _options.CheckpointDirectory is { } d && File.Exists(Path.Combine(d, BestCheckpointName)) ? Path.Combine(d, BestCheckpointName) : null;
        Log.Finished(_logger, reason, _epoch, _globalStep, ElapsedSeconds);
        return new TrainingResult(reason, History.Epochs.Count, _globalStep, _monitor?.BestValue, _monitor?.BestEpoch ?? 0, History, lastCheckpoint, best);
    }

    /// <summary>
    /// One optimizer step on <paramref name="batch"/>: zero gradients, forward and loss, backward,
    /// clipping, AdamW with the scheduled learning rate (parameters the losses report unused are
    /// left untouched, <see cref="TrainingLosses.UnusedParameters"/>). The losses are recorded and
    /// read back every <see cref="TrainerOptions.LossSyncInterval"/> steps. Does not advance the
    /// epoch position (<see cref="Fit"/> does).
    /// </summary>
    public void TrainStep(IReadOnlyDictionary<string, Tensor> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_disposed, this);
        using (var scope = NewDisposeScope())
        {
            var prepared = PrepareBatch(batch);
            _optimizer.ZeroGrad();
            _model.OnStepStart(Position);
            var losses = _model.ComputeLosses(prepared);
            if (!_checkedLossDType)
            {
                _checkedLossDType = true;
                if (_computeDType is not null && losses.Total.dtype != ScalarType.Float32)
                    Log.LowPrecisionLoss(_logger, losses.Total.dtype.ToString());
            }
            losses.Backward();

            var names = new List<string>(losses.Terms.Count + 2) { TrainingLosses.TotalLossName };
            var values = new List<Tensor>(losses.Terms.Count + 3) { losses.Total.detach() };
            foreach (var (name, t) in losses.Terms)
            {
                names.Add(name);
                values.Add(t.detach());
            }
            bool hasNorm = false;
            if (_options.GradientClipNorm is double maxNorm)
            {
                values.Add(_optimizer.ClipGradNorm(maxNorm));
                hasNorm = true;
            }
            _lastFactor = _schedule.CurrentFactor;
            _optimizer.LearningRateFactor = _lastFactor;
            _optimizer.Step(losses.UnusedParameters);
            _model.OnStepEnd(prepared);
            _schedule.Advance();
            _globalStep++;

            var packed = stack(values.Select(v => v.to(ScalarType.Float32).to(_device).reshape(Array.Empty<long>())).ToArray());
            _pending.Add(new PendingStep(_globalStep, _epoch + 1, _lastFactor, names, hasNorm, packed.DetachFromDisposeScope()));
        }
        if (_pending.Count >= _options.LossSyncInterval)
            FlushLosses();
    }

    /// <summary>
    /// Moves <paramref name="batch"/> to the model's device and, under mixed precision, casts
    /// floating-point entries (except <see cref="TrainerOptions.KeepFloat32Inputs"/>) to the compute
    /// dtype. New tensors join the current dispose scope.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> PrepareBatch(IReadOnlyDictionary<string, Tensor> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var result = new Dictionary<string, Tensor>(batch.Count, StringComparer.Ordinal);
        foreach (var (key, t) in batch)
        {
            var x = SpatialNet.Training.Devices.DeviceTransfer.To(t, _device);
            if (_computeDType is ScalarType cd && x.is_floating_point() && x.dtype != cd && _options.KeepFloat32Inputs?.Contains(key) != true)
                x = x.to(cd);
            result[key] = x;
        }
        return result;
    }

    /// <summary>
    /// Asks the loop to stop after the current epoch (from <see cref="ITrainerCallback.OnEpochEnd"/>: early
    /// stopping, a time budget); <see cref="Fit"/> then returns <see cref="StopReason.EarlyStopped"/>.
    /// </summary>
    public void RequestStop() => _stopRequested = true;

    /// <summary>Copies <see cref="LastCheckpointName"/> to <see cref="BestCheckpointName"/> in the checkpoint folder (atomically) and reports it.</summary>
    internal void CopyLastToBest()
    {
        if (_options.CheckpointDirectory is not { } dir)
            return;
        var last = Path.Combine(dir, LastCheckpointName);
        var best = Path.Combine(dir, BestCheckpointName);
        AtomicFile.Write(best, s =>
        {
            using var source = File.OpenRead(last);
            source.CopyTo(s);
        });
        if (_monitor is not null)
            Log.BestCheckpoint(_logger, _monitor.Metric, _monitor.BestValue ?? double.NaN, _epoch);
        foreach (var c in _callbacks)
            c.OnCheckpoint(this, best);
    }

    /// <summary>Writes a checkpoint of the current state (model, optimizer, schedule, position, RNGs, history) to <paramref name="path"/>.</summary>
    public void SaveCheckpoint(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        FlushLosses();
        var state = new TrainerState(History, _monitor?.ExportState(),
            _epochSums.ToDictionary(kv => kv.Key, kv => new[] { kv.Value.Sum, kv.Value.Count }, StringComparer.Ordinal), ElapsedSeconds);
        var extra = new Dictionary<string, string> { [TrainerStateKey] = JsonSerializer.Serialize(state, StateJson) };
        if (_model.SaveState() is { } modelState)
            extra[TrainableStateKey] = modelState;
        TrainingCheckpoint.Save(path, _model.Module, _optimizer, _schedule, Position, Random, extra, _model.SaveTensorState());
        Log.CheckpointSaved(_logger, path, _globalStep);
        foreach (var c in _callbacks)
            c.OnCheckpoint(this, path);
    }

    // One optimizer step per batch: global_step = epoch × batches per epoch + batch_in_epoch.
    internal static void CheckPosition(string path, TrainingPosition p, int batchesPerEpoch)
    {
        if (p.BatchInEpoch > batchesPerEpoch || p.GlobalStep != (long)p.Epoch * batchesPerEpoch + p.BatchInEpoch)
            throw new CheckpointException(path,
                $"Checkpoint '{path}': global_step {p.GlobalStep} does not match epoch {p.Epoch} and batch_in_epoch {p.BatchInEpoch} at {batchesPerEpoch} batches per epoch " +
                $"(expected {(long)p.Epoch * batchesPerEpoch + p.BatchInEpoch}); resume with the data and batch size the run was started with, or the file is damaged.");
    }

    /// <summary>
    /// Restores a checkpoint written by <see cref="SaveCheckpoint"/> (or by a <see cref="Fit"/> run
    /// with a checkpoint folder); the next <see cref="Fit"/> continues from its position and
    /// reproduces an uninterrupted run's losses exactly on CPU. The trainer must be built like the
    /// original (same model, groups, precision, batch source).
    /// </summary>
    public void ResumeFrom(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        DisposePending();
        CheckPosition(path, TrainingCheckpoint.ReadInfo(path).Position, _source.BatchesPerEpoch);
        var info = TrainingCheckpoint.Restore(path, _model.Module, _optimizer, _schedule, Random, _model.LoadTensorState);
        if (_optimizer.StepCount != info.Position.GlobalStep)
            throw new CheckpointException(path, $"Checkpoint '{path}': the optimizer has taken {_optimizer.StepCount} steps, the position says global_step {info.Position.GlobalStep}; the file is inconsistent.");
        (_epoch, _batchInEpoch, _globalStep) = (info.Position.Epoch, info.Position.BatchInEpoch, info.Position.GlobalStep);
        _epochSums.Clear();
        if (info.Extra.TryGetValue(TrainerStateKey, out var json))
        {
            TrainerState state;
            try
            {
                state = JsonSerializer.Deserialize<TrainerState>(json, StateJson) ?? throw new JsonException("null");
            }
            catch (JsonException e)
            {
                throw new CheckpointException(path, $"Checkpoint '{path}': metadata '{TrainerStateKey}' is malformed ({e.Message}).", e);
            }
            History = state.History ?? new MetricHistory();
            if (_monitor is not null && state.Monitor is not null)
                _monitor.ImportState(state.Monitor);
            foreach (var (k, v) in state.EpochSums ?? [])
                _epochSums[k] = (v[0], (long)v[1]);
            _elapsedBefore = state.ElapsedSeconds;
        }
        else
        {
            History = new MetricHistory();
            _elapsedBefore = 0;
        }
        if (info.Extra.TryGetValue(TrainableStateKey, out var modelStateJson))
            _model.LoadState(modelStateJson);
        _lastFactor = _globalStep > 0 ? _schedule.Factor(_globalStep - 1) : _schedule.Factor(0);
        Log.Resumed(_logger, path, _epoch + 1, _batchInEpoch, _globalStep);
    }

    /// <summary>
    /// Frees the optimizer and flat buffers; the model keeps its parameters. After bf16 mixed-precision
    /// training the model is first cast back to float32 with the exact float32 master weights
    /// (<see cref="FlatParameterBuffers.RestoreModule"/>), so code that uses it afterwards sees a
    /// float32 model, not its bfloat16 rounding.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        DisposePending();
        // The moments go first, so that the float32 copy of the model does not add to them.
        _optimizer.Dispose();
        try
        {
            _buffers.RestoreModule();
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException or ExternalException or ArgumentException)
        {
            // Dispose must not throw (it may run while another exception unwinds): report and free the rest.
            Log.RestoreFailed(_logger, e.Message);
        }
        finally
        {
            _buffers.Dispose();
        }
    }

    private double ElapsedSeconds => _elapsedBefore + _runClock.Elapsed.TotalSeconds;

    private (bool EpochDone, StopReason? Stop) RunEpochBatches(CancellationToken cancellationToken)
    {
        int perEpoch = _source.BatchesPerEpoch;
        using var batches = _source.GetBatches(_epoch, _batchInEpoch).GetEnumerator();
        while (_batchInEpoch < perEpoch)
        {
            if (cancellationToken.IsCancellationRequested)
                return (false, StopReason.Cancelled);
            if (_options.MaxSteps is long max && _globalStep >= max)
                return (false, StopReason.MaxStepsReached);
            // The enumerator runs inside the step's scope: the batch it creates is freed with the step.
            using (var scope = NewDisposeScope())
            {
                if (!batches.MoveNext())
                    break;
                TrainStep(batches.Current);
            }
            _batchInEpoch++;
            _stepsThisRun++;
            foreach (var c in _callbacks)
                c.OnBatchEnd(this);
            if (_options.MaxSteps is long max2 && _globalStep >= max2)
                return (_batchInEpoch >= perEpoch, StopReason.MaxStepsReached);
        }
        return (true, null);
    }

    /// <summary>Flushes losses, evaluates, records the epoch, checkpoints and writes outputs; returns true to stop early.</summary>
    private bool EndEpoch()
    {
        FlushLosses();
        int epochNumber = _epoch + 1;
        var train = _epochSums.ToDictionary(kv => kv.Key, kv => kv.Value.Sum / kv.Value.Count, StringComparer.Ordinal);
        _model.OnEpochEnd(epochNumber);
        var metrics = Evaluate(epochNumber);
        _epochSums.Clear();
        _epoch++;
        _batchInEpoch = 0;
        var record = new EpochRecord
        {
            Epoch = epochNumber,
            GlobalStep = _globalStep,
            LearningRateFactor = _lastFactor,
            ElapsedSeconds = ElapsedSeconds,
            Train = train,
            Metrics = metrics,
        };
        History.Epochs.Add(record);

        bool improved = false;
        if (_monitor is not null)
        {
            double value = LookupMonitored(record);
            improved = _monitor.Update(epochNumber, value);
        }
        Log.EpochEnd(_logger, epochNumber, _options.Epochs, train.GetValueOrDefault(TrainingLosses.TotalLossName, double.NaN),
            string.Join(", ", metrics.Select(m => FormattableString.Invariant($"{m.Key}={m.Value:G5}"))));
        foreach (var c in _callbacks)
            c.OnEpochEnd(this, record, improved);
        return _stopRequested && _epoch < _options.Epochs;
    }

    private double LookupMonitored(EpochRecord record)
    {
        var name = _monitor!.Metric;
        if (record.Metrics.TryGetValue(name, out var v))
            return v;
        if (name.StartsWith("train_", StringComparison.Ordinal) && record.Train.TryGetValue(name["train_".Length..], out v))
            return v;
        var available = record.Metrics.Keys.Concat(record.Train.Keys.Select(k => "train_" + k));
        throw new InvalidOperationException(
            $"Monitored metric '{name}' (TrainerOptions.MonitorMetric) is not produced; available: {string.Join(", ", available)}.");
    }

    private Dictionary<string, double> Evaluate(int epochNumber)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (_evaluator is null)
            return result;
        var module = _model.Module;
        module.eval();
        try
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var metrics = _evaluator.Evaluate(new EvaluationContext(epochNumber, PrepareBatch));
            foreach (var (k, v) in metrics)
                result[k] = v;
        }
        finally
        {
            module.train();
        }
        return result;
    }

    /// <summary>
    /// Reads the losses of pending steps back from the device into <see cref="History"/> now (this
    /// waits for the device) and updates the progress display.
    /// </summary>
    /// <exception cref="InvalidOperationException">A loss is NaN or infinite and <see cref="TrainerOptions.StopOnNonFiniteLoss"/> is set.</exception>
    public void FlushLosses()
    {
        if (_pending.Count == 0)
            return;
        float[] all;
        using (var scope = NewDisposeScope())
        {
            var cat = torch.cat(_pending.Select(p => p.Values).ToList(), 0).cpu();
            all = cat.data<float>().ToArray();
        }
        int offset = 0;
        var records = new List<StepRecord>(_pending.Count);
        foreach (var p in _pending)
        {
            var losses = new Dictionary<string, double>(p.Names.Count, StringComparer.Ordinal);
            for (int i = 0; i < p.Names.Count; i++)
                losses[p.Names[i]] = all[offset + i];
            double? norm = p.HasNorm ? all[offset + p.Names.Count] : null;
            offset += p.Names.Count + (p.HasNorm ? 1 : 0);
            records.Add(new StepRecord { Step = p.Step, Epoch = p.Epoch, LearningRateFactor = p.Factor, Losses = losses, GradientNorm = norm });
        }
        DisposePending();
        foreach (var r in records)
        {
            History.Steps.Add(r);
            foreach (var (k, v) in r.Losses)
                Accumulate(k, v);
            if (r.GradientNorm is double g)
                Accumulate(GradientNormName, g);
            if (_options.StopOnNonFiniteLoss && !double.IsFinite(r.Losses[TrainingLosses.TotalLossName]))
                throw new InvalidOperationException(
                    $"The loss became {r.Losses[TrainingLosses.TotalLossName]} at step {r.Step} (epoch {r.Epoch}); lower TrainerOptions.LearningRate, " +
                    "enable GradientClipNorm, or set StopOnNonFiniteLoss = false.");
        }
        var latest = records[^1];
        double rate = _runClock.Elapsed.TotalSeconds > 0 ? _stepsThisRun / _runClock.Elapsed.TotalSeconds : 0;
        TimeSpan? eta = rate > 0 ? TimeSpan.FromSeconds(Math.Max(0, TotalSteps - _globalStep) / rate) : null;
        var snapshot = new ProgressSnapshot(Math.Min(_epoch + 1, _options.Epochs), _options.Epochs, _batchInEpoch, _source.BatchesPerEpoch,
            _globalStep, TotalSteps, rate, eta, latest.Losses);
        foreach (var c in _callbacks)
            c.OnStep(this, snapshot);
    }

    private void Accumulate(string key, double value)
    {
        var (sum, count) = _epochSums.GetValueOrDefault(key);
        _epochSums[key] = (sum + value, count + 1);
    }


    private void DisposePending()
    {
        foreach (var p in _pending)
            p.Values.Dispose();
        _pending.Clear();
    }

    private sealed record PendingStep(long Step, int Epoch, double Factor, List<string> Names, bool HasNorm, Tensor Values);

    private sealed record TrainerState(MetricHistory? History, EarlyStoppingState? Monitor, Dictionary<string, double[]>? EpochSums, double ElapsedSeconds);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information,
            Message = "Training {Parameters} parameters in {Buckets} flat buckets, {Precision} on {Device}: epoch {Epoch}/{Epochs}, {BatchesPerEpoch} batches per epoch, from step {Step}")]
        public static partial void Starting(ILogger logger, long parameters, int buckets, PrecisionMode precision, string device, int epoch, int epochs, int batchesPerEpoch, long step);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Epoch {Epoch}/{Epochs}: train loss {Loss:G5}; {Metrics}")]
        public static partial void EpochEnd(ILogger logger, int epoch, int epochs, double loss, string metrics);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information,
            Message = "Early stopping: {Metric} did not improve for {Patience} epochs; best {Best:G6} at epoch {BestEpoch}")]
        public static partial void EarlyStopped(ILogger logger, string metric, int patience, int bestEpoch, double best);

        [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Training stopped ({Reason}) at step {Step}")]
        public static partial void Interrupted(ILogger logger, StopReason reason, long step);

        [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Finished ({Reason}): {Epochs} epochs, {Step} steps, {Seconds:F1} s")]
        public static partial void Finished(ILogger logger, StopReason reason, int epochs, long step, double seconds);

        [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Checkpoint {Path} written at step {Step}")]
        public static partial void CheckpointSaved(ILogger logger, string path, long step);

        [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "New best {Metric} = {Value:G6} at epoch {Epoch}")]
        public static partial void BestCheckpoint(ILogger logger, string metric, double value, int epoch);

        [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Resumed from {Path}: epoch {Epoch}, batch {Batch}, step {Step}")]
        public static partial void Resumed(ILogger logger, string path, int epoch, int batch, long step);

        [LoggerMessage(EventId = 11, Level = LogLevel.Warning,
            Message = "Mixed precision: the model could not be restored to float32 when the trainer was disposed ({Reason}); it keeps its bfloat16 weights")]
        public static partial void RestoreFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 10, Level = LogLevel.Warning,
            Message = "Mixed precision: the training loss is {DType}, not Float32; compute losses on predictions cast to float32 and keep float targets out of the cast (TrainerOptions.KeepFloat32Inputs), or set TrainerOptions.Precision = Float32")]
        public static partial void LowPrecisionLoss(ILogger logger, string dtype);
    }
}
