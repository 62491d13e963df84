namespace SpatialNet.Training.Tests.Support;

/// <summary>Runs the <c>spatialnet</c> tool in-process and captures its exit code, standard output and standard error.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args) => Run(CancellationToken.None, args);

    public static (int Code, string Out, string Err) Run(CancellationToken cancellationToken, params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int code = SpatialNet.Cli.Cli.Run(args, o, e, cancellationToken);
        return (code, o.ToString(), e.ToString());
    }
}
