using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// Attention keys and values [R, heads, T, head_dim] kept between the steps of incremental
/// (autoregressive) decoding, so that each step projects only its new tokens: the self-attention
/// keys and values of the positions decoded so far (<see cref="MultiHeadSelfAttention.ForwardCached"/>),
/// or the cross-attention keys and values of a fixed memory (<see cref="CrossAttention.MemoryCache"/>).
/// </summary>
/// <remarks>
/// The cache owns its tensors: they are detached from every dispose scope, so they survive the
/// dispose scope of the step that made them, and <see cref="Dispose"/> frees them. Each
/// <see cref="Append"/> or <see cref="Reorder"/> frees the tensors it replaces.
/// </remarks>
internal sealed class KeyValueCache : IDisposable
{
    private Tensor? keys;
    private Tensor? values;
    private bool disposed;

    /// <summary>Cached keys [R, heads, T, head_dim]; null while empty.</summary>
    public Tensor? Keys => keys;

    /// <summary>Cached values [R, heads, T, head_dim]; null while empty.</summary>
    public Tensor? Values => values;

    /// <summary>Number of cached positions T (0 while empty).</summary>
    public long Length => keys?.shape[2] ?? 0;

    /// <summary>Appends the keys and values of new positions [R, heads, T_new, head_dim] after the cached ones.</summary>
    /// <exception cref="ArgumentException">Keys and values of different shapes, not of rank 4, or not matching the cached rows, heads or width.</exception>
    /// <exception cref="ObjectDisposedException">The cache was disposed.</exception>
    public void Append(Tensor newKeys, Tensor newValues)
    {
        ArgumentNullException.ThrowIfNull(newKeys);
        ArgumentNullException.ThrowIfNull(newValues);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (newKeys.dim() != 4 || !newKeys.shape.SequenceEqual(newValues.shape)
            || keys is not null && (keys.shape[0] != newKeys.shape[0] || keys.shape[1] != newKeys.shape[1] || keys.shape[3] != newKeys.shape[3]))
        {
            throw new ArgumentException(
                $"KeyValueCache.Append expects keys and values [R, heads, T, head_dim] matching the cache [{string.Join(", ", keys?.shape ?? [])}]; got [{string.Join(", ", newKeys.shape)}] and [{string.Join(", ", newValues.shape)}].");
        }

        using var scope = NewDisposeScope();
        // contiguous() gives the cache its own handle (the caller keeps and may free its own) and a
        // dense layout, so later attention reads do not gather a strided view every step.
        Replace(keys is null ? newKeys.contiguous() : cat([keys, newKeys], 2),
            values is null ? newValues.contiguous() : cat([values, newValues], 2));
    }

    /// <summary>
    /// Replaces the rows by the rows <paramref name="rows"/> [R'] (int64) name, in that order: after a
    /// beam search step, row i continues the sequence of row <c>rows[i]</c>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="rows"/> is not a vector of int64 row indices.</exception>
    /// <exception cref="ObjectDisposedException">The cache was disposed.</exception>
    public void Reorder(Tensor rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (rows.dim() != 1 || rows.dtype != int64)
        {
            throw new ArgumentException($"KeyValueCache.Reorder expects row indices [R] int64; got [{string.Join(", ", rows.shape)}] {rows.dtype}.", nameof(rows));
        }

        if (keys is null || values is null)
        {
            return;
        }

        using var scope = NewDisposeScope();
        var index = rows.to(keys.device);   // the same tensor when it is already there
        Replace(keys.index_select(0, index), values.index_select(0, index));
    }

    /// <summary>Frees the cached tensors; the cache is empty and unusable afterwards.</summary>
    public void Dispose()
    {
        keys?.Dispose();
        values?.Dispose();
        keys = values = null;
        disposed = true;
    }

    // Takes ownership of the new tensors (out of every dispose scope) and frees the old ones.
    private void Replace(Tensor newKeys, Tensor newValues)
    {
        newKeys.DetachFromDisposeScope();
        newValues.DetachFromDisposeScope();
        keys?.Dispose();
        values?.Dispose();
        keys = newKeys;
        values = newValues;
    }
}
