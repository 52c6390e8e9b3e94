// Package elfload parses ELF64 x86-64 executables and shared objects the way
// a loader does and turns them into a load plan.
//
// It owns strict parsing from the ELF header, the program headers and the
// dynamic section (never the section headers, so stripped and section-less
// files work), and the Plan it produces: PT_LOAD segments with their
// protections and bss, the page-aligned span, the TLS template, RELRO, the
// stack flags, the interpreter, GNU property notes, and the dynamic
// information (needed libraries, string and symbol tables, SysV and GNU hash
// tables, symbol versions, RELA/JMPREL/RELR relocation tables, init/fini).
//
// It never touches the memory of a sandbox, never resolves symbols and never
// applies relocations: that is ldso's job. Every input is treated as hostile:
// offsets, sizes, counts and address computations are checked (with overflow
// checks) before use, allocations and loops are bounded by the file size, and
// a malformed file yields a *FormatError naming the file offset and a stable
// rule identifier. Once Parse has returned a Plan, its accessors cannot fail.
//
// Decisions a reader may find surprising:
//   - Section headers are never read: a loader does not need them and a
//     hostile file can make them disagree with the program headers.
//   - Tables named by the dynamic section are located by mapping their
//     link-time address through the PT_LOAD segments, and must lie in a
//     segment's file-backed part (what the loader would map); PT_DYNAMIC and
//     the PT_TLS image must be where both their address and their offset say.
//   - The symbol count comes from DT_HASH's nchain, else from DT_GNU_HASH
//     (the end of the chain of the highest bucket), else it is 0, as for a
//     loader. A DT_GNU_HASH count is only a floor: undefined symbols that
//     nothing hashes may follow the hashed ones (ld does this for a module
//     that exports nothing), so the table is extended to the highest symbol
//     index a relocation names, if that stays in the table's segment.
//   - DT_REL, DT_RELSZ, DT_RELENT, DT_RELCOUNT and DT_PLTREL = DT_REL are
//     rejected: the x86-64 psABI uses RELA only.
//   - Congruence of p_offset and p_vaddr is checked modulo max(p_align,
//     PageSize), the check glibc makes; segments must be disjoint in memory
//     (they may share a page) and their span at most MaxSpan (the sandbox).
//   - Singular dynamic tags (DT_STRTAB, DT_SONAME, ...) may appear once.
//   - Names read during parsing are at most 4 KiB (rpath/runpath 64 KiB),
//     and the version-record walk is bounded by the file size, so that no
//     file makes Parse do super-linear work. Decoded RELR addresses are
//     ascending, word-aligned and inside the span, which bounds them too.
//   - Symbol names are substrings of one copy of the string table: At does
//     not allocate, and the whole table stays alive while a name does.
package elfload
