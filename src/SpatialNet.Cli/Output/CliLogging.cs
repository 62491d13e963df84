using Microsoft.Extensions.Logging;
using SpatialNet.Runtime;

namespace SpatialNet.Cli.Output;

/// <summary>The tool's logs: "HH:mm:ss message" lines on standard error, through a display when one is live.</summary>
internal static class CliLogging
{
    /// <summary>
    /// A logger factory writing to <paramref name="sink"/>; events named in <paramref name="omit"/> are
    /// left out (the trainer's epoch line, when the display prints the epoch's row instead).
    /// </summary>
    public static ILoggerFactory Create(Action<string> sink, bool quiet, params string[] omit) => LoggerFactory.Create(b => b
        .AddProvider(new Provider(sink, omit.ToHashSet(StringComparer.Ordinal)))
        .SetMinimumLevel(quiet ? LogLevel.Warning : LogLevel.Information));

    /// <summary>A logger factory writing to <paramref name="error"/>.</summary>
    public static ILoggerFactory Create(TextWriter error, bool quiet) => Create(line => { lock (error) error.WriteLine(line); }, quiet);

    /// <summary>
    /// Loads libtorch now; its loader's line goes where the tool set it up (standard error with <c>--verbose</c>, nowhere otherwise).
    /// </summary>
    public static void InitializeNativeRuntime(ILoggerFactory logging)
    {
        ArgumentNullException.ThrowIfNull(logging);
        TorchNativeRuntime.EnsureInitialized();
    }

    private sealed class Provider(Action<string> sink, HashSet<string> omit) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(sink, omit);

        public void Dispose()
        {
        }
    }

    private sealed class Logger(Action<string> sink, HashSet<string> omit) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Name is { } name && omit.Contains(name))
                return;
            var level = logLevel switch
            {
                LogLevel.Warning => "warn: ",
                LogLevel.Error or LogLevel.Critical => "fail: ",
                _ => "",
            };
            var message = formatter(state, exception);
            if (exception is not null)
                message += $" ({exception.GetType().Name}: {exception.Message})";
            sink($"{DateTime.Now:HH:mm:ss} {level}{message}");
        }
    }
}
