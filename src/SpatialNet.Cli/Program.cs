using SpatialNet.Cli;
using SpatialNet.Cli.Hosting;

using var interrupt = new Interrupt(Console.Error);
return Cli.Run(args, Console.Out, Console.Error, interrupt.Token);
