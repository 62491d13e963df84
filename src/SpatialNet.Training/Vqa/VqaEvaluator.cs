using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Training.Data;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Text;
using SpatialNet.Training.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Vqa;

/// <summary>A model's answer to one question.</summary>
/// <param name="QuestionId">The question's id in the release.</param>
/// <param name="ImageId">The id of the image it asks about.</param>
/// <param name="QuestionType">Its type (file spelling).</param>
/// <param name="Question">The question as written.</param>
/// <param name="Expected">The ground-truth label (counts as bins).</param>
/// <param name="Predicted">The model's answer label.</param>
public sealed record VqaPrediction(int QuestionId, int ImageId, string QuestionType, string Question, string Expected, string Predicted);

/// <summary>A model scored on a split: per-type accuracy, AA and OA, and every answer.</summary>
/// <param name="Result">The scores (<see cref="VqaMetrics"/>).</param>
/// <param name="Predictions">One answer per question, in the split's order.</param>
public sealed record VqaEvaluation(VqaResult Result, IReadOnlyList<VqaPrediction> Predictions);

/// <summary>
/// Scores a <see cref="MultiTaskModel"/>'s VQA task on a split held in a <see cref="VqaQuestionBank"/>,
/// as the RSVQA baseline reports it: accuracy per question type, AA and OA (<see cref="VqaMetrics"/>),
/// count answers compared as bins. The answer is the arg-max over the whole answer vocabulary. Each
/// question is answered from its own image and its own text; images are encoded once per batch.
/// </summary>
public sealed class VqaEvaluator
{
    /// <summary>Creates the evaluator.</summary>
    /// <param name="task">Name of the model's VQA task.</param>
    /// <param name="answers">The answer vocabulary the head was trained on (index → label).</param>
    /// <param name="preprocess">The deterministic image preprocessing of training (e.g. <see cref="ToFloat"/>, <see cref="Normalize"/>); no augmentation.</param>
    /// <param name="batchSize">Questions per forward pass.</param>
    public VqaEvaluator(string task, AnswerVocabulary answers, IBatchTransform? preprocess = null, int batchSize = 512)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(task);
        ArgumentNullException.ThrowIfNull(answers);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        Task = task;
        Answers = answers;
        Preprocess = preprocess;
        BatchSize = batchSize;
    }

    /// <summary>The VQA task evaluated.</summary>
    public string Task { get; }

    /// <summary>The answer vocabulary.</summary>
    public AnswerVocabulary Answers { get; }

    /// <summary>The image preprocessing.</summary>
    public IBatchTransform? Preprocess { get; }

    /// <summary>Questions per forward pass.</summary>
    public int BatchSize { get; }

    /// <summary>
    /// Answers every question of <paramref name="split"/> with <paramref name="model"/> (in evaluation
    /// mode, without gradients; the model's mode is restored) and scores the answers.
    /// </summary>
    /// <exception cref="ArgumentException">The head's answer count differs from the vocabulary's.</exception>
    public VqaEvaluation Evaluate(MultiTaskModel model, VqaQuestionBank split)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(split);
        if (model.Head(Task) is VqaHead head && head.NumAnswers != Answers.Count)
            throw new ArgumentException($"Task '{Task}' predicts {head.NumAnswers} answers but the vocabulary has {Answers.Count}.", nameof(model));
        var first = model.parameters().First();
        var (device, dtype) = (first.device, first.dtype);
        var wasTraining = model.training;
        model.eval();
        var predicted = new int[split.Count];
        try
        {
            using var noGrad = torch.no_grad();
            // Questions grouped by image so each batch encodes few distinct images.
            var order = Enumerable.Range(0, split.Count).OrderBy(split.ImageRowOf).ThenBy(i => i).ToArray();
            for (var start = 0; start < order.Length; start += BatchSize)
            {
                using var scope = NewDisposeScope();
                var indices = order.AsSpan(start, Math.Min(BatchSize, order.Length - start)).ToArray();
                var batch = split.Gather(indices);
                batch.MoveTo(device);
                Preprocess?.Apply(batch);
                // A model still in bfloat16 (evaluated during mixed-precision training) takes bfloat16 images.
                var images = batch[VqaQuestionBank.ImageKey];
                if (images.is_floating_point() && images.dtype != dtype)
                    batch.Set(VqaQuestionBank.ImageKey, images.to(dtype));
                var logits = VqaForward.Logits(model, Task, batch);
                var best = logits.narrow(1, 0, Answers.Count).argmax(1).cpu().data<long>().ToArray();
                for (var i = 0; i < indices.Length; i++) predicted[indices[i]] = (int)best[i];
            }
        }
        finally
        {
            model.train(wasTraining);
        }

        var predictions = split.Questions.Select((q, i) => new VqaPrediction(q.Id, q.ImageId, q.Type.ToWireName(), q.Text, q.AnswerLabel,
            Answers.Decode(predicted[i]))).ToArray();
        var result = VqaMetrics.Compute(predictions.Select(p => new VqaAnswer(p.QuestionType, p.Expected, p.Predicted)));
        return new VqaEvaluation(result, predictions);
    }
}
