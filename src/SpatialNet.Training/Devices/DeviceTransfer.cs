using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Devices;

/// <summary>
/// Moves tensors to a device the way a training step wants them moved: from the CPU to a GPU through
/// pinned (page-locked) memory with a non-blocking copy, so the host does not wait for the GPU work
/// already queued (a copy from ordinary memory would), and not at all when the tensor is already there.
/// </summary>
internal static class DeviceTransfer
{
    /// <summary>
    /// <paramref name="tensor"/> on <paramref name="device"/>: the tensor itself when it is already
    /// there; from the CPU to CUDA, a non-blocking copy through a pinned staging copy (freed at once:
    /// PyTorch's pinned-memory allocator keeps it until the copy is done); otherwise an ordinary copy.
    /// A new tensor joins the current dispose scope.
    /// </summary>
    public static Tensor To(Tensor tensor, Device device)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(device);
        if (IsOn(tensor, device))
            return tensor;
        if (device.type != DeviceType.CUDA || tensor.device_type != DeviceType.CPU)
            return tensor.to(device);
        var pinned = tensor.pin_memory();
        try
        {
            return pinned.to(device, non_blocking: true);
        }
        finally
        {
            if (!ReferenceEquals(pinned, tensor))
                pinned.Dispose();
        }
    }

    /// <summary>Whether <paramref name="tensor"/> lives on <paramref name="device"/> (CUDA without an index means device 0).</summary>
    public static bool IsOn(Tensor tensor, Device device)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(device);
        return tensor.device_type == device.type
            && (device.type == DeviceType.CPU || Math.Max(tensor.device_index, 0) == Math.Max(device.index, 0));
    }
}
