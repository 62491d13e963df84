using SpatialNet.Training.Data;
using SpatialNet.Training.Text;
using static TorchSharp.torch;

namespace SpatialNet.Training.Vqa;

/// <summary>
/// One RSVQA split held in memory as tensors: every distinct image once (uint8 [I, C, H, W], decoded
/// once through the dataset's <c>ImageCache</c>) and every question as a row of token ids, an answer
/// index, a type and the augmentation flag. <see cref="Gather"/> makes image-deduplicated batches.
/// </summary>
/// <remarks>
/// <para>
/// RSVQA asks about 100 questions per image, so a batch of questions holds each image many times.
/// A gathered batch therefore carries each image it needs once, in <see cref="ImageKey"/>
/// [U, C, H, W], and each question's row in it, in <see cref="ImageIndexKey"/> [B];
/// <see cref="VqaForward"/> encodes the U images once and gives every question the tokens of its own
/// image. An image appears twice when some of its questions may be flipped and rotated and others
/// (those naming left, right, top or bottom; <see cref="Transforms.VqaAugmentationRule"/>) may not:
/// the two copies are flagged in <see cref="ImageAllowGeometricKey"/> [U]. Nothing else links the
/// questions of a batch: each question is answered from its own image and its own text only.
/// </para>
/// <para>Other entries: <c>question</c> [B, L] (padded with 0 to the batch's longest), <c>answer</c>
/// [B] (−100 outside the vocabulary), <c>question_type</c> [B] (<see cref="RsvqaQuestionType"/>),
/// <c>count</c> [B] (float32: the raw count of a count question, NaN otherwise — the count branch's
/// target), <c>index</c> [B] (the question's position in <see cref="Questions"/>).</para>
/// </remarks>
public sealed class VqaQuestionBank : IDisposable
{
    /// <summary>Batch entry of the distinct images [U, C, H, W].</summary>
    public const string ImageKey = SampleKeys.Image;

    /// <summary>Batch entry [B] (int64): each question's row in <see cref="ImageKey"/>.</summary>
    public const string ImageIndexKey = "image_index";

    /// <summary>Batch entry [U] (bool): whether flips and rotations may be applied to that image row.</summary>
    public const string ImageAllowGeometricKey = "image_allow_geometric";

    private readonly Tensor _images;
    private readonly long[][] _tokens;
    private readonly long[] _answers;
    private readonly int[] _imageRows;
    private readonly RsvqaQuestion[] _questions;
    private readonly int[] _imageIds;

    private VqaQuestionBank(Tensor images, int[] imageIds, RsvqaQuestion[] questions, int[] imageRows, long[][] tokens, long[] answers, string name)
    {
        _images = images;
        _imageIds = imageIds;
        _questions = questions;
        _imageRows = imageRows;
        _tokens = tokens;
        _answers = answers;
        Name = name;
    }

    /// <summary>
    /// Reads every question of <paramref name="dataset"/> and decodes each of its images once (at the
    /// size the dataset's image cache produces).
    /// </summary>
    /// <param name="dataset">The split.</param>
    /// <param name="questionEncoder">Question text → token ids (built on the training split).</param>
    /// <param name="answers">Answer labels → indices (built on the training split).</param>
    /// <exception cref="InvalidOperationException">The images do not all have the same bands and size (set the cache's Height/Width).</exception>
    public static VqaQuestionBank Create(RsvqaDataset dataset, TextEncoder questionEncoder, AnswerVocabulary answers)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(questionEncoder);
        ArgumentNullException.ThrowIfNull(answers);
        var ids = dataset.Images.Keys.Order().ToArray();
        var rowOf = ids.Select((id, row) => (id, row)).ToDictionary(p => p.id, p => p.row);
        var first = dataset.LoadImage(ids[0]);
        var (c, h, w) = (first.Channels, first.Height, first.Width);
        var pixels = new byte[(long)ids.Length * c * h * w];
        for (var i = 0; i < ids.Length; i++)
        {
            var image = dataset.LoadImage(ids[i]);
            if ((image.Channels, image.Height, image.Width) != (c, h, w) || image.Pixels8 is null)
                throw new InvalidOperationException(
                    $"Image {ids[i]} of {dataset.Name} is {image.Channels}×{image.Height}×{image.Width} ({image.BitsPerSample}-bit) but image {ids[0]} is {c}×{h}×{w} (8-bit): " +
                    "give the dataset an ImageCache with ImageLoadOptions.Height/Width set so every image has one size.");
            image.Pixels8.CopyTo(pixels, (long)i * c * h * w);
        }

        var questions = dataset.Questions.ToArray();
        var images = tensor(pixels, [ids.Length, c, h, w], ScalarType.Byte);
        images.DetachFromDisposeScope();
        return new VqaQuestionBank(images, ids, questions,
            questions.Select(q => rowOf[q.ImageId]).ToArray(),
            questions.Select(q => questionEncoder.Encode(q.Text)).ToArray(),
            questions.Select(q => (long)answers.Encode(q.AnswerLabel)).ToArray(),
            dataset.Name);
    }

    /// <summary>Name of the split (the dataset's name).</summary>
    public string Name { get; }

    /// <summary>Number of questions.</summary>
    public int Count => _questions.Length;

    /// <summary>The questions, in dataset order (row i of every per-question entry).</summary>
    public IReadOnlyList<RsvqaQuestion> Questions => _questions;

    /// <summary>Image ids in row order of <see cref="Images"/>.</summary>
    public IReadOnlyList<int> ImageIds => _imageIds;

    /// <summary>The distinct images, uint8 [I, C, H, W] (owned by the bank).</summary>
    public Tensor Images => _images;

    /// <summary>Number of tokens of question <paramref name="index"/> (before padding).</summary>
    public int TokenCount(int index) => _tokens[index].Length;

    /// <summary>Row in <see cref="Images"/> of question <paramref name="index"/>'s image.</summary>
    public int ImageRowOf(int index) => _imageRows[index];

    /// <summary>
    /// The batch of the questions at <paramref name="indices"/> (repeats allowed), in that order, with
    /// each needed image once per augmentation permission (layout in the class remarks). The tensors
    /// belong to the current dispose scope.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An index outside [0, <see cref="Count"/>).</exception>
    public Batch Gather(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Count == 0) throw new ArgumentException("A batch needs at least one question.", nameof(indices));
        var slots = new Dictionary<(int Row, bool Allow), int>();
        var imageRows = new List<long>();
        var allow = new List<bool>();
        var imageIndex = new long[indices.Count];
        var length = 1;
        for (var i = 0; i < indices.Count; i++)
        {
            var q = indices[i];
            ArgumentOutOfRangeException.ThrowIfNegative(q, nameof(indices));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(q, Count, nameof(indices));
            var key = (_imageRows[q], _questions[q].AllowGeometric);
            if (!slots.TryGetValue(key, out var slot))
            {
                slot = slots[key] = imageRows.Count;
                imageRows.Add(key.Item1);
                allow.Add(key.Item2);
            }
            imageIndex[i] = slot;
            length = Math.Max(length, _tokens[q].Length);
        }

        var ids = new long[indices.Count * length];
        for (var i = 0; i < indices.Count; i++)
            _tokens[indices[i]].CopyTo(ids, i * length);

        var batch = new Batch { Source = Name, Size = indices.Count };
        using (var rows = tensor(imageRows.ToArray()))
            batch.Set(ImageKey, _images.index_select(0, rows));
        batch.Set(ImageAllowGeometricKey, tensor(allow.ToArray()));
        batch.Set(ImageIndexKey, tensor(imageIndex));
        batch.Set(SampleKeys.Question, tensor(ids, [indices.Count, length]));
        batch.Set(SampleKeys.Answer, tensor(indices.Select(q => _answers[q]).ToArray()));
        batch.Set(SampleKeys.QuestionType, tensor(indices.Select(q => (long)_questions[q].Type).ToArray()));
        batch.Set(SampleKeys.Count, tensor(indices.Select(q => _questions[q].Count is { } n ? (float)n : float.NaN).ToArray()));
        batch.Set(SampleKeys.Index, tensor(indices.Select(q => (long)q).ToArray()));
        return batch;
    }

    /// <summary>Disposes the image tensor.</summary>
    public void Dispose() => _images.Dispose();
}
