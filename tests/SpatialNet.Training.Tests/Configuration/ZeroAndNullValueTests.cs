using FluentAssertions;
using SpatialNet.DependencyInjection;
using SpatialNet.Training.Configuration;
using Xunit;

namespace SpatialNet.Training.Tests.Configuration;

/// <summary>Values that would make a run meaningless are refused at binding, and a JSON null is never dropped.</summary>
public sealed class ZeroAndNullValueTests
{
    private static string Config(string trainer = "\"seed\": 3", string extra = "") => $$"""
        {
          "output_dir": "runs/x",
          "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
          "tasks": [ { "name": "land_cover", "kind": "classification", "target": "label" } ],
          "trainer": { {{trainer}} },
          "data": { "batch_size": 8, "sources": [ { "kind": "synthetic", "train_count": 20, "val_count": 10 } ] }{{extra}}
        }
        """;

    private static TrainingRunOptions Bind(string json, params string[] sets) =>
        TrainingRunOptions.Bind(SpatialNetConfiguration.FromJson(json, "/cfg", sets), "cfg.json");

    [Theory]
    [InlineData("\"learning_rate\": 0", "trainer:learning_rate = 0")]
    [InlineData("\"epochs\": 0", "trainer:epochs = 0")]
    [InlineData("\"warmup_fraction\": 1", "trainer:warmup_fraction = 1")]
    [InlineData("\"monitor_metric\": \"roads/accuracy\"", "trainer:monitor_metric = \"roads/accuracy\"")]
    public void AValueThatMakesTheRunMeaningless_IsRefusedNamingItsKey(string trainer, string message)
    {
        var act = () => Bind(Config(trainer));

        act.Should().Throw<ConfigurationException>().Which.Message.Should().Contain("cfg.json").And.Contain(message);
    }

    [Theory]
    [InlineData("\"monitor_metric\": \"land_cover/accuracy\"")]
    [InlineData("\"monitor_metric\": \"loss\"")]
    [InlineData("\"monitor_metric\": \"train_loss\"")]
    [InlineData("\"warmup_fraction\": 0.999")]
    public void TheirNeighbours_StillBind(string trainer) =>
        Bind(Config(trainer)).Should().NotBeNull();

    [Fact]
    public void GradientClipNormNull_DisablesClipping_AsDocumented()
    {
        Bind(Config()).Trainer.GradientClipNorm.Should().Be(1.0, "clipping at 1.0 is the default");

        Bind(Config("\"gradient_clip_norm\": null")).Trainer.GradientClipNorm.Should().BeNull("null disables clipping");
        Bind(Config(), "trainer:gradient_clip_norm=").Trainer.GradientClipNorm.Should().BeNull("an empty override is null too");
    }

    [Fact]
    public void NullForAnOptionThatCannotBeNull_IsRefusedNamingTheKey()
    {
        var act = () => Bind(Config("\"epochs\": null"));

        act.Should().Throw<ConfigurationException>().Which.Message.Should().Contain("trainer:epochs = null").And.Contain("cfg.json");
    }

    [Fact]
    public void NullForANullableOption_IsNullEverywhere()
    {
        // Every nullable option of a run, set to null in the file: each becomes null (its documented meaning), none keeps its default.
        var o = Bind(Config("\"seed\": null, \"monitor_mode\": null, \"gradient_clip_norm\": null",
            ", \"threads\": null, \"pretrained\": null"));

        o.Trainer.Seed.Should().BeNull();
        o.Trainer.MonitorMode.Should().BeNull();
        o.Trainer.GradientClipNorm.Should().BeNull();
        o.Threads.Should().BeNull();
        o.Pretrained.Should().BeNull();
    }
}

public sealed class WarmupCoveringTheRunTests
{
    [Fact]
    public void WarmupStepsCoveringTheWholeRun_AreRefusedNamingTheKey()
    {
        var f = new Training.TrainerFixture(initSeed: 1);
        var options = Training.TrainerFixture.Options();
        // 3 epochs × 96/16 batches = 18 steps; a warm-up of 18 never reaches the base rate.
        options.WarmupSteps = 18;

        var act = () => new SpatialNet.Training.Engine.Trainer(f.Trainable, f.Source, options).Dispose();

        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*trainer:warmup_steps = 18*18 steps*");
        options.WarmupSteps = 17;
        new SpatialNet.Training.Engine.Trainer(f.Trainable, f.Source, options).Dispose();
    }
}

public sealed class EveryNullableOptionTests
{
    private const string Base = """
        {
          "output_dir": "runs/x",
          "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
          "tasks": [ { "name": "land_cover", "kind": "classification", "target": "label", "head": { "label_smoothing": 0.1 } } ],
          "trainer": { "seed": 3 },
          "data": { "batch_size": 8, "sources": [ { "kind": "synthetic", "train_count": 20, "val_count": 10 } ] }
        }
        """;

    public static TheoryData<string> NullableKeys()
    {
        // Every nullable option a run binds, found by reflection on the options classes (so a new one is covered too).
        var bound = TrainingRunOptions.Bind(SpatialNetConfiguration.FromJson(Base, "/cfg"));
        var data = new TheoryData<string>();
        foreach (var (prefix, instance) in Sections(bound))
        {
            foreach (var p in instance.GetType().GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
            {
                if (p.SetMethod is not { IsPublic: true } || typeof(Delegate).IsAssignableFrom(p.PropertyType) || !IsNullable(p))
                    continue;
                data.Add(prefix + SpatialNet.DependencyInjection.StrictConfigurationBinder.SnakeCase(p.Name));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(NullableKeys))]
    public void NullForANullableOption_IsNullOrRefusedNamingTheKey_NeverTheDefault(string key)
    {
        // JSON null and an empty override reach the binder alike (an empty value).
        TrainingRunOptions bound;
        try
        {
            bound = TrainingRunOptions.Bind(SpatialNetConfiguration.FromJson(Base, "/cfg", [key + "="]), "cfg.json");
        }
        catch (ConfigurationException e)
        {
            e.Message.Should().Contain(key);
            return;
        }

        var (section, name) = (key[..(key.LastIndexOf(':') + 1)], key[(key.LastIndexOf(':') + 1)..]);
        var instance = Sections(bound).Single(s => s.Prefix == section).Instance;
        var property = instance.GetType().GetProperties().Single(p => SpatialNet.DependencyInjection.StrictConfigurationBinder.SnakeCase(p.Name) == name);
        property.GetValue(instance).Should().BeNull($"{key}: null means null");
    }

    private static IEnumerable<(string Prefix, object Instance)> Sections(TrainingRunOptions o) =>
    [
        ("", o), ("model:", o.Model), ("loss:", o.Loss), ("trainer:", o.Trainer), ("data:", o.Data),
        ("data:sources:0:", o.Data.Sources[0]), ("tasks:0:", o.Tasks[0]), ("tasks:0:head:", o.Tasks[0].Head),
    ];

    private static bool IsNullable(System.Reflection.PropertyInfo p) =>
        Nullable.GetUnderlyingType(p.PropertyType) is not null
        || (!p.PropertyType.IsValueType && new System.Reflection.NullabilityInfoContext().Create(p).WriteState == System.Reflection.NullabilityState.Nullable);
}
