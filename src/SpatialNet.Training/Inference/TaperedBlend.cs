namespace SpatialNet.Training.Inference;

/// <summary>
/// Blends per-pixel outputs of overlapping windows into full-resolution rows: each window's values are weighted by
/// t(column)·t(row), a linear ramp that rises from 1/(m+1) at the window's edge to 1 at m pixels inside it (m: the
/// overlap), so neighbouring windows fade into each other without seams and a pixel covered once keeps its value.
/// Only the rows that windows still to come can touch are held: memory grows with the scene's width, not its height.
/// </summary>
internal sealed class TaperedBlend
{
    private readonly int _width, _channels, _window;
    private readonly float[] _taper;
    private readonly Dictionary<int, (float[] Sums, float[] Weights)> _rows = [];
    private int _nextRow;

    /// <summary>Creates the accumulator.</summary>
    /// <param name="width">Scene width in pixels.</param>
    /// <param name="channels">Values per pixel K.</param>
    /// <param name="window">Window edge S.</param>
    /// <param name="overlap">Pixels neighbouring windows share (S − stride); 0: no taper.</param>
    public TaperedBlend(int width, int channels, int window, int overlap)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(overlap);
        _width = width;
        _channels = channels;
        _window = window;
        _taper = new float[window];
        for (int i = 0; i < window; i++)
            _taper[i] = Math.Min(1f, (Math.Min(i, window - 1 - i) + 1f) / (overlap + 1f));
    }

    /// <summary>The 1-D taper t over a window edge.</summary>
    public IReadOnlyList<float> Taper => _taper;

    /// <summary>Most bytes the pending rows held at once.</summary>
    public long PeakBytes { get; private set; }

    /// <summary>Adds a window's values <c>[K, S, S]</c> at column <paramref name="x"/>, row <paramref name="y"/>; pixels where <paramref name="valid"/> (<c>[S, S]</c>, optional) is false add nothing.</summary>
    /// <exception cref="InvalidOperationException">The window reaches a row already written.</exception>
    public void Add(int x, int y, ReadOnlySpan<float> values, ReadOnlySpan<bool> valid = default)
    {
        int s = _window, plane = s * s;
        if (values.Length != _channels * plane) throw new ArgumentException($"Expected {_channels}×{s}×{s} values; got {values.Length}.", nameof(values));
        if (y < _nextRow) throw new InvalidOperationException($"Window at row {y} reaches rows already written (up to {_nextRow - 1}).");
        if (x < 0 || x + s > _width) throw new ArgumentOutOfRangeException(nameof(x), $"Window at column {x} is not inside the {_width}-pixel row.");
        for (int r = 0; r < s; r++)
        {
            if (!_rows.TryGetValue(y + r, out var row))
            {
                _rows[y + r] = row = (new float[_channels * _width], new float[_width]);
                PeakBytes = Math.Max(PeakBytes, (long)_rows.Count * (_channels + 1) * _width * sizeof(float));
            }
            for (int c = 0; c < s; c++)
            {
                int i = r * s + c;
                if (!valid.IsEmpty && !valid[i]) continue;
                float w = _taper[r] * _taper[c];
                int px = x + c;
                row.Weights[px] += w;
                for (int k = 0; k < _channels; k++) row.Sums[k * _width + px] += w * values[k * plane + i];
            }
        }
    }

    /// <summary>
    /// Hands every row above <paramref name="limit"/> to <paramref name="write"/> as <c>[K, width]</c> blended values
    /// (NaN where no window covered the pixel) and frees it; rows are handed in order.
    /// </summary>
    public void WriteRows(int limit, Action<int, ReadOnlySpan<float>> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var blended = new float[_channels * _width];
        for (; _nextRow < limit; _nextRow++)
        {
            if (_rows.Remove(_nextRow, out var row))
            {
                for (int px = 0; px < _width; px++)
                {
                    float w = row.Weights[px];
                    for (int k = 0; k < _channels; k++) blended[k * _width + px] = w > 0 ? row.Sums[k * _width + px] / w : float.NaN;
                }
            }
            else Array.Fill(blended, float.NaN);
            write(_nextRow, blended);
        }
    }
}
