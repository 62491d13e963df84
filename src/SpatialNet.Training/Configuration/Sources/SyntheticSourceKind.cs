using System.Globalization;
using SpatialNet.DependencyInjection;
using SpatialNet.Training.Data;
using SpatialNet.Training.Synthetic;

namespace SpatialNet.Training.Configuration;

/// <summary><c>synthetic</c>: land-cover scenes generated in memory (RGB), train/val/test by count.</summary>
internal sealed class SyntheticSourceKind() : DataSourceKind("synthetic")
{
    public override bool ReadsFiles => false;

    public override bool TrainIsTrainingSplit => true;

    public override void Validate(DataSourceOptions config, string at, ConfigCheck check)
    {
        check(config.TrainCount >= 1, $"{at}:train_count", config.TrainCount, "an integer >= 1");
        check(config.ValCount >= 0, $"{at}:val_count", config.ValCount, "an integer >= 0");
        check(config.TestCount >= 0, $"{at}:test_count", config.TestCount, "an integer >= 0");
        check(config.NoiseAmplitude is null or (>= 0 and <= 64), $"{at}:noise_amplitude", config.NoiseAmplitude, "an integer in [0, 64], or null");
        if (config.Bands is { } bands)
            check(false, $"{at}:bands", "[" + string.Join(", ", bands) + "]", "null for synthetic scenes (they are RGB)");
        if (config.InputRange is not null)
            check(false, $"{at}:input_range", config.InputRangeShown(), "null for synthetic scenes");
    }

    public override SourceContents Open(DataSourceOptions config, int index, int imageSize, int bands, ulong seed)
    {
        var at = $"data:sources:{index}";
        if (imageSize < 32)
            throw new ConfigurationException($"{at}: synthetic scenes are at least 32×32 pixels; model:image_size = {imageSize}.");
        if (bands != 3)
            throw new ConfigurationException($"{at}: synthetic scenes are RGB; model:in_channels = {bands}.");
        var options = new SyntheticSceneOptions { ImageSize = imageSize, Seed = config.GeneratorSeed ?? seed };
        if (config.NoiseAmplitude is int noise)
            options = options with { NoiseAmplitude = noise };
        var generator = new SyntheticSceneGenerator(options);
        var train = new SyntheticSceneDataset(generator, config.TrainCount, 0, "synthetic/train");
        IDataset? Split(string name) => name switch
        {
            "val" when config.ValCount > 0 => new SyntheticSceneDataset(generator, config.ValCount, config.TrainCount, "synthetic/val"),
            "test" when config.TestCount > 0 => new SyntheticSceneDataset(generator, config.TestCount, config.TrainCount + config.ValCount, "synthetic/test"),
            _ => null,
        };
        return new SourceContents(train, Split) { ClassNames = SyntheticSceneGenerator.LandCoverClasses };
    }

    public override string Origin(DataSourceOptions config, string split, ulong seed)
    {
        var (first, count) = split switch
        {
            "val" => (config.TrainCount, config.ValCount),
            "test" => (config.TrainCount + config.ValCount, config.TestCount),
            _ => (0, config.TrainCount),
        };
        return string.Create(CultureInfo.InvariantCulture,
            $"synthetic scenes {first}–{first + count - 1} of the generator with seed {config.GeneratorSeed ?? seed}");
    }
}
