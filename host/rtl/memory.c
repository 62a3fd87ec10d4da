/* Buffer routines (wdm.h). The DDK makes most of them macros; these are the exported functions a
 * driver reaches after #undef. They can be called at any IRQL (on resident memory). */
#include "rtlp.h"

#undef RtlCopyMemory
#undef RtlMoveMemory
#undef RtlFillMemory
#undef RtlZeroMemory
#undef RtlEqualMemory
#undef RtlStoreUshort
#undef RtlStoreUlong
#undef RtlStoreUlonglong
#undef RtlStoreUlongPtr
#undef RtlRetrieveUshort
#undef RtlRetrieveUlong

SIZE_T NTAPI RtlCompareMemory(const VOID *Source1, const VOID *Source2, SIZE_T Length)
{
    const UCHAR *a = Source1, *b = Source2;
    SIZE_T i = 0;
    while (i < Length && a[i] == b[i])
        i++;
    return i;
}

SIZE_T NTAPI RtlCompareMemoryUlong(PVOID Source, SIZE_T Length, ULONG Pattern)
{
    const UCHAR *p = Source;
    SIZE_T i = 0;
    Length &= ~(SIZE_T)(sizeof(ULONG) - 1);
    while (i < Length) {
        ULONG v;
        memcpy(&v, p + i, sizeof v);
        if (v != Pattern)
            break;
        i += sizeof(ULONG);
    }
    return i;
}

VOID NTAPI RtlCopyMemory(VOID UNALIGNED *Destination, const VOID UNALIGNED *Source, SIZE_T Length)
{
    if (Length)
        memcpy(Destination, Source, Length);
}

VOID NTAPI RtlMoveMemory(VOID UNALIGNED *Destination, const VOID UNALIGNED *Source, SIZE_T Length)
{
    if (Length)
        memmove(Destination, Source, Length);
}

VOID NTAPI RtlFillMemory(VOID UNALIGNED *Destination, SIZE_T Length, UCHAR Fill)
{
    if (Length)
        memset(Destination, Fill, Length);
}

VOID NTAPI RtlZeroMemory(VOID UNALIGNED *Destination, SIZE_T Length)
{
    if (Length)
        memset(Destination, 0, Length);
}

LOGICAL NTAPI RtlEqualMemory(const VOID *Source1, const VOID *Source2, SIZE_T Length)
{
    return RtlCompareMemory(Source1, Source2, Length) == Length;
}

VOID NTAPI RtlFillMemoryUlong(PVOID Destination, SIZE_T Length, ULONG Pattern)
{
    UCHAR *p = Destination;
    for (SIZE_T i = 0; i + sizeof(ULONG) <= Length; i += sizeof(ULONG))
        memcpy(p + i, &Pattern, sizeof Pattern);
}

PVOID NTAPI RtlSecureZeroMemory(PVOID Destination, SIZE_T Length)
{
    volatile UCHAR *p = Destination;
    while (Length--)
        *p++ = 0;
    return Destination;
}

VOID NTAPI RtlStoreUshort(PVOID Address, USHORT Value)
{
    memcpy(Address, &Value, sizeof Value);
}

VOID NTAPI RtlStoreUlong(PVOID Address, ULONG Value)
{
    memcpy(Address, &Value, sizeof Value);
}

VOID NTAPI RtlStoreUlonglong(PVOID Address, ULONGLONG Value)
{
    memcpy(Address, &Value, sizeof Value);
}

VOID NTAPI RtlStoreUlongPtr(PVOID Address, ULONG_PTR Value)
{
    memcpy(Address, &Value, sizeof Value);
}

VOID NTAPI RtlRetrieveUshort(PVOID DestinationAddress, const VOID *SourceAddress)
{
    memcpy(DestinationAddress, SourceAddress, sizeof(USHORT));
}

VOID NTAPI RtlRetrieveUlong(PVOID DestinationAddress, const VOID *SourceAddress)
{
    memcpy(DestinationAddress, SourceAddress, sizeof(ULONG));
}

USHORT FASTCALL RtlUshortByteSwap(USHORT Source)
{
    return __builtin_bswap16(Source);
}

ULONG FASTCALL RtlUlongByteSwap(ULONG Source)
{
    return __builtin_bswap32(Source);
}

ULONGLONG FASTCALL RtlUlonglongByteSwap(ULONGLONG Source)
{
    return __builtin_bswap64(Source);
}
