namespace SpatialNet.Heads;

/// <summary>How a <see cref="VqaHead"/> combines the question with the image.</summary>
public enum VqaFusionKind
{
    /// <summary>
    /// Question tokens attend to each other (padding masked) and to the image tokens in
    /// <see cref="VqaHeadOptions.FusionDepth"/> pre-norm decoder layers; the fused question tokens
    /// are averaged over the real positions. <see cref="CrossAttentionFusion"/>.
    /// </summary>
    CrossAttention,

    /// <summary>
    /// The RSVQA baseline (Lobry et al., 2020): the pooled image vector and the pooled question vector
    /// are each projected to <see cref="VqaHeadOptions.FusionDim"/> with tanh and multiplied element
    /// by element. <see cref="ElementwiseProductFusion"/>.
    /// </summary>
    ElementwiseProduct,
}
