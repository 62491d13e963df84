using SpatialNet.Samples.RsvqaLr;

// Trains a SpatialNet VQA model (shared ViT encoder + VQA head) on RSVQA-LR's train split, keeps
// the epoch that scores best on val, and writes Table II beside the two language-only baselines.
// See docs/rsvqa.md.
ExperimentOptions options;
try
{
    options = ExperimentOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(ExperimentOptions.Usage());
    return 2;
}

return RsvqaLrExperiment.Run(options);
