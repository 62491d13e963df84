using System.Runtime.InteropServices;

namespace SpatialNet.Cli.Hosting;

/// <summary>
/// Ctrl+C and SIGTERM: the first stops a command that stops cleanly (<c>train</c>: at the next step
/// boundary, with a checkpoint) by cancelling <see cref="Token"/>; a second, or the first during a
/// command that cannot stop cleanly, ends the process at once through the signal's default action
/// (killed by SIGINT: shell status 130), running no shutdown code that libtorch's threads could crash.
/// </summary>
internal sealed class Interrupt : IDisposable
{
    private static int _graceful;
    private readonly CancellationTokenSource _source = new();
    private readonly TextWriter _error;
    private readonly PosixSignalRegistration[] _registrations;
    private int _signals;

    /// <summary>Listens for SIGINT and SIGTERM; notices go to <paramref name="error"/>.</summary>
    public Interrupt(TextWriter error)
    {
        _error = error;
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>Marks the running command as one that stops cleanly when <see cref="Token"/> is cancelled, until disposed.</summary>
    public static IDisposable StopsCleanly()
    {
        Interlocked.Increment(ref _graceful);
        return new Scope();
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _signals) == 1 && Volatile.Read(ref _graceful) > 0)
        {
            context.Cancel = true;
            _error.WriteLine();
            _error.WriteLine("spatialnet: stopping at the next step and saving a checkpoint (Ctrl+C again to abort at once)");
            _source.Cancel();
            return;
        }
        _error.WriteLine();
        _error.WriteLine("spatialnet: aborted");
        context.Cancel = false;   // not Environment.Exit: its shutdown crashed under a running libtorch step
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var r in _registrations)
            r.Dispose();
        _source.Dispose();
    }

    private sealed class Scope : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                Interlocked.Decrement(ref _graceful);
        }
    }
}
