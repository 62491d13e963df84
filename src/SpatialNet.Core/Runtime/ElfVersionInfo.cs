using System.Buffers.Binary;
using System.Text;

namespace SpatialNet.Runtime;

/// <summary>
/// A minimal reader (and patcher) of the symbol-versioning sections of a 64-bit little-endian ELF
/// shared object: the version definitions a library provides (<c>.gnu.version_d</c>) and the
/// versions it needs from others (<c>.gnu.version_r</c>). Enough to tell whether a libstdc++
/// provides <c>GLIBCXX_3.4.32</c> and to mark a needed version as weak.
/// </summary>
internal sealed class ElfVersionInfo
{
    /// <summary><c>VER_FLG_WEAK</c> from elf.h: a weak version reference, which the dynamic loader
    /// does not insist on when the providing library lacks that version.</summary>
    public const ushort VerFlagWeak = 0x2;

    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;

    private ElfVersionInfo(IReadOnlyList<string> definitions, IReadOnlyList<VersionNeed> needs)
    {
        Definitions = definitions;
        Needs = needs;
    }

    /// <summary>Version names this object defines (e.g. <c>GLIBCXX_3.4.30</c> in libstdc++).</summary>
    public IReadOnlyList<string> Definitions { get; }

    /// <summary>Versions this object needs, one entry per (file, version) pair.</summary>
    public IReadOnlyList<VersionNeed> Needs { get; }

    /// <summary>One <c>Elf64_Vernaux</c> entry: a version needed from a library.</summary>
    /// <param name="File">The library the version is needed from (e.g. <c>libstdc++.so.6</c>).</param>
    /// <param name="Version">The version name (e.g. <c>GLIBCXX_3.4.32</c>).</param>
    /// <param name="Flags">The entry's <c>vna_flags</c>.</param>
    /// <param name="FlagsOffset">File offset of the 16-bit <c>vna_flags</c> field.</param>
    public sealed record VersionNeed(string File, string Version, ushort Flags, long FlagsOffset)
    {
        /// <summary>Whether <see cref="VerFlagWeak"/> is set.</summary>
        public bool IsWeak => (Flags & VerFlagWeak) != 0;
    }

    /// <summary>Reads the version sections of the ELF file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a 64-bit little-endian ELF object, or its sections are inconsistent.</exception>
    public static ElfVersionInfo Read(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses the version sections of an ELF image held in memory.</summary>
    /// <param name="image">The whole file.</param>
    /// <param name="nameForErrors">A name used in exception messages.</param>
    public static ElfVersionInfo Parse(ReadOnlySpan<byte> image, string nameForErrors = "<memory>")
    {
        if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
            throw new InvalidDataException($"{nameForErrors}: not an ELF file (bad magic).");
        if (image[4] != 2 || image[5] != 1)
            throw new InvalidDataException($"{nameForErrors}: only 64-bit little-endian ELF is supported (EI_CLASS={image[4]}, EI_DATA={image[5]}).");

        long shoff = checked((long)U64(image, 0x28, nameForErrors));
        int shentsize = U16(image, 0x3A, nameForErrors);
        int shnum = U16(image, 0x3C, nameForErrors);
        if (shoff == 0 || shnum == 0)
            throw new InvalidDataException($"{nameForErrors}: no section header table (e_shoff={shoff}, e_shnum={shnum}).");

        var sections = new (uint Type, long Offset, long Size, uint Link, uint Info)[shnum];
        for (int i = 0; i < shnum; i++)
        {
            long b = shoff + (long)i * shentsize;
            sections[i] = (U32(image, b + 4, nameForErrors), (long)U64(image, b + 0x18, nameForErrors),
                (long)U64(image, b + 0x20, nameForErrors), U32(image, b + 0x28, nameForErrors), U32(image, b + 0x2C, nameForErrors));
        }

        var definitions = new List<string>();
        var needs = new List<VersionNeed>();
        foreach (var s in sections)
        {
            if (s.Type != ShtGnuVerdef && s.Type != ShtGnuVerneed) continue;
            if (s.Link >= sections.Length)
                throw new InvalidDataException($"{nameForErrors}: version section links to missing string table {s.Link}.");
            long strtab = sections[s.Link].Offset;
            uint count = s.Info; // sh_info holds the number of entries for both kinds
            long entry = s.Offset;
            for (uint n = 0; n < count; n++)
            {
                if (s.Type == ShtGnuVerdef)
                {
                    // Elf64_Verdef: vd_version u16, vd_flags u16, vd_ndx u16, vd_cnt u16, vd_hash u32, vd_aux u32, vd_next u32
                    uint aux = U32(image, entry + 12, nameForErrors);
                    uint next = U32(image, entry + 16, nameForErrors);
                    // First Elf64_Verdaux: vda_name u32, vda_next u32
                    uint name = U32(image, entry + aux, nameForErrors);
                    definitions.Add(CString(image, strtab + name, nameForErrors));
                    if (next == 0) break;
                    entry += next;
                }
                else
                {
                    // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32
                    int cnt = U16(image, entry + 2, nameForErrors);
                    string file = CString(image, strtab + U32(image, entry + 4, nameForErrors), nameForErrors);
                    uint aux = U32(image, entry + 8, nameForErrors);
                    uint next = U32(image, entry + 12, nameForErrors);
                    long a = entry + aux;
                    for (int k = 0; k < cnt; k++)
                    {
                        // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32
                        ushort flags = U16(image, a + 4, nameForErrors);
                        string version = CString(image, strtab + U32(image, a + 8, nameForErrors), nameForErrors);
                        needs.Add(new VersionNeed(file, version, flags, a + 4));
                        uint anext = U32(image, a + 12, nameForErrors);
                        if (anext == 0) break;
                        a += anext;
                    }
                    if (next == 0) break;
                    entry += next;
                }
            }
        }
        return new ElfVersionInfo(definitions, needs);
    }

    /// <summary>
    /// Sets <see cref="VerFlagWeak"/> on every needed-version entry named <paramref name="version"/>
    /// in <paramref name="image"/>, in place. Nothing else changes.
    /// </summary>
    /// <returns>The number of entries whose flag was newly set (0 when already weak or absent).</returns>
    public static int MarkVersionNeedWeak(byte[] image, string version, string nameForErrors = "<memory>")
    {
        ArgumentNullException.ThrowIfNull(image);
        int changed = 0;
        foreach (var need in Parse(image, nameForErrors).Needs)
        {
            if (need.Version != version || need.IsWeak) continue;
            BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan((int)need.FlagsOffset, 2), (ushort)(need.Flags | VerFlagWeak));
            changed++;
        }
        return changed;
    }

    private static void Check(ReadOnlySpan<byte> image, long offset, int size, string name)
    {
        if (offset < 0 || offset + size > image.Length)
            throw new InvalidDataException($"{name}: truncated ELF file (needed {size} bytes at offset {offset}, file is {image.Length} bytes).");
    }

    private static ushort U16(ReadOnlySpan<byte> b, long o, string n) { Check(b, o, 2, n); return BinaryPrimitives.ReadUInt16LittleEndian(b.Slice((int)o)); }
    private static uint U32(ReadOnlySpan<byte> b, long o, string n) { Check(b, o, 4, n); return BinaryPrimitives.ReadUInt32LittleEndian(b.Slice((int)o)); }
    private static ulong U64(ReadOnlySpan<byte> b, long o, string n) { Check(b, o, 8, n); return BinaryPrimitives.ReadUInt64LittleEndian(b.Slice((int)o)); }

    private static string CString(ReadOnlySpan<byte> b, long o, string n)
    {
        Check(b, o, 1, n);
        var rest = b.Slice((int)o);
        int end = rest.IndexOf((byte)0);
        if (end < 0) throw new InvalidDataException($"{n}: unterminated string at offset {o}.");
        return Encoding.ASCII.GetString(rest.Slice(0, end));
    }
}
