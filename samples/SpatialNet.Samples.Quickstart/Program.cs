using SpatialNet.Runtime;
using TorchSharp;

// Placeholder until the multi-task quickstart lands: proves the native runtime loads and trains.
var report = TorchNativeRuntime.EnsureInitialized();
Console.WriteLine($"native runtime: {report.Action}");
torch.set_num_threads(1);
torch.manual_seed(0);
var lin = torch.nn.Linear(4, 1);
var opt = torch.optim.AdamW(lin.parameters(), 0.05);
var x = torch.randn(64, 4);
var y = x.sum(1, keepdim: true);
for (int step = 0; step < 200; step++)
{
    using var scope = torch.NewDisposeScope();
    opt.zero_grad();
    var loss = torch.nn.functional.mse_loss(lin.call(x), y);
    loss.backward();
    opt.step();
    if (step % 50 == 0 || step == 199) Console.WriteLine($"step {step}: loss {loss.item<float>():F4}");
}
