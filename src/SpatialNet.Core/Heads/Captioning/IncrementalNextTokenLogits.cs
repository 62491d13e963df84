using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// One step of an incremental (key/value-cached) next-token model for <see cref="SequenceDecoder"/>:
/// the model keeps the state of every row's prefix between calls and receives only each row's
/// newest token.
/// </summary>
/// <param name="newest">
/// The newest token of each row [R] (int64): the start token at the first call, then the token the
/// search appended to the row at the previous step (padding for a row that is finished).
/// </param>
/// <param name="parents">
/// Null when every row continues its own prefix; else [R] (int64): row i continues the prefix that
/// row <c>parents[i]</c> held before this step (beam search keeps, drops and duplicates beams), so
/// the model first reorders its state as <c>state.index_select(0, parents)</c>, then appends
/// <paramref name="newest"/>.
/// </param>
/// <returns>Next-token logits [R, V] of each row's prefix extended by its newest token.</returns>
/// <remarks>Both tensors are freed after the call; the model must not keep them.</remarks>
public delegate Tensor IncrementalNextTokenLogits(Tensor newest, Tensor? parents);
