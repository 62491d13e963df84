using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.Training.Data;
using SpatialNet.Training.Synthetic;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Text;
using TorchSharp;

namespace SpatialNet.Training.Tests.Multimodal;

/// <summary>
/// Small synthetic datasets in both real formats, written once per test class: UCM-caption
/// (5 classes × 4 images of 32×32: 2 train, 1 val, 1 test per class) and RSVQA-LR (6 train and
/// 3 val images), with their text encoders, and a factory of tiny models over them.
/// </summary>
public sealed class SyntheticMultimodalFixture : IDisposable
{
    private readonly TempDirectory _folder = new();

    public SyntheticMultimodalFixture()
    {
        var generator = new SyntheticSceneGenerator(new SyntheticSceneOptions { ImageSize = 32, Seed = 5 });
        UcmRoot = _folder.Combine("ucm");
        RsvqaRoot = _folder.Combine("rsvqa");
        SyntheticDatasetWriter.WriteUcmCaption(UcmRoot, generator, imagesPerClass: 4, valFraction: 0.25, testFraction: 0.25);
        SyntheticDatasetWriter.WriteRsvqa(RsvqaRoot, generator, trainImages: 6, valImages: 3);
        var plainTrain = new UcmCaptionDataset(UcmRoot, "train");
        CaptionEncoder = plainTrain.BuildCaptionEncoder(maxLength: 24);
        var vqaTrain = new RsvqaDataset(RsvqaRoot, "train");
        QuestionEncoder = vqaTrain.BuildQuestionEncoder(maxLength: 20);
        Answers = vqaTrain.BuildAnswerVocabulary();
    }

    public string UcmRoot { get; }

    public string RsvqaRoot { get; }

    public TextEncoder CaptionEncoder { get; }

    public TextEncoder QuestionEncoder { get; }

    public AnswerVocabulary Answers { get; }

    public UcmCaptionDataset Ucm(string split, CaptionSampling sampling = CaptionSampling.PerSentence) =>
        new(UcmRoot, split, new UcmCaptionOptions { Sampling = sampling, CaptionEncoder = CaptionEncoder });

    public RsvqaDataset Rsvqa(string split) =>
        new(RsvqaRoot, split, new RsvqaOptions { QuestionEncoder = QuestionEncoder, Answers = Answers });

    /// <summary>A tiny model (ViT 32×32, patch 8, D 16, one layer) with land-use, caption and VQA heads, seeded.</summary>
    public MultiTaskModel CreateModel(long seed = 1, bool withLandUse = true, bool withVqa = true)
    {
        torch.manual_seed(seed);
        var encoder = new VisionTransformer(new VisionTransformerOptions { ImageSize = 32, PatchSize = 8, EmbedDim = 16, Depth = 1, NumHeads = 2 });
        var layout = TokenLayout.Of(encoder);
        var heads = new List<TaskHead>();
        if (withLandUse)
            heads.Add(new ClassificationHead("land_use", layout, new ClassificationHeadOptions { NumClasses = SyntheticSceneGenerator.LandCoverClasses.Count }));
        heads.Add(new CaptionHead("caption", layout, CaptionEncoder.ConfigureCaptionHead(new CaptionHeadOptions { Depth = 1, NumHeads = 2 })));
        if (withVqa)
            heads.Add(new VqaHead("vqa", layout, QuestionEncoder.ConfigureVqaHead(Answers, new VqaHeadOptions { Depth = 1, NumHeads = 2, ClassifierHiddenDim = 16 })));
        return new MultiTaskModel(encoder, heads);
    }

    public void Dispose() => _folder.Dispose();
}
