using SpatialNet.Cli;

using var interrupt = new Interrupt(Console.Error);
return Cli.Run(args, Console.Out, Console.Error, interrupt.Token);
