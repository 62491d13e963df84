using Microsoft.Extensions.Logging;

namespace SpatialNet.Samples.RsvqaLr;

/// <summary>Writes Information and above to the console with the elapsed time (the trainer's epoch lines).</summary>
internal sealed class ConsoleLogger(System.Diagnostics.Stopwatch clock) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] {formatter(state, exception)}");
    }
}
