/* Linked lists (wdm.h). A corrupt list (Flink->Blink != entry) is a fast-fail bugcheck, as with
 * the WDK's checked list routines. */
#include "rt.h"

static inline void RtlpCheckListEntry(PLIST_ENTRY Entry)
{
    if (Entry->Flink->Blink != Entry || Entry->Blink->Flink != Entry)
        KeBugCheckEx(KERNEL_SECURITY_CHECK_FAILURE, 3 /* FAST_FAIL_CORRUPT_LIST_ENTRY */,
                     (ULONG_PTR)Entry, 0, 0);
}

VOID NTAPI InitializeListHead(PLIST_ENTRY ListHead)
{
    ListHead->Flink = ListHead->Blink = ListHead;
}

BOOLEAN NTAPI IsListEmpty(const LIST_ENTRY *ListHead)
{
    return ListHead->Flink == ListHead;
}

VOID NTAPI InsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry)
{
    PLIST_ENTRY Flink = ListHead->Flink;
    if (Flink->Blink != ListHead)
        RtlpCheckListEntry(ListHead);
    Entry->Flink = Flink;
    Entry->Blink = ListHead;
    Flink->Blink = Entry;
    ListHead->Flink = Entry;
}

VOID NTAPI InsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry)
{
    PLIST_ENTRY Blink = ListHead->Blink;
    if (Blink->Flink != ListHead)
        RtlpCheckListEntry(ListHead);
    Entry->Flink = ListHead;
    Entry->Blink = Blink;
    Blink->Flink = Entry;
    ListHead->Blink = Entry;
}

BOOLEAN NTAPI RemoveEntryList(PLIST_ENTRY Entry)
{
    PLIST_ENTRY Flink = Entry->Flink, Blink = Entry->Blink;
    RtlpCheckListEntry(Entry);
    Blink->Flink = Flink;
    Flink->Blink = Blink;
    return Flink == Blink;
}

PLIST_ENTRY NTAPI RemoveHeadList(PLIST_ENTRY ListHead)
{
    PLIST_ENTRY Entry = ListHead->Flink;
    if (Entry == ListHead)
        return ListHead; /* empty: the DDK returns the head itself */
    RemoveEntryList(Entry);
    return Entry;
}

PLIST_ENTRY NTAPI RemoveTailList(PLIST_ENTRY ListHead)
{
    PLIST_ENTRY Entry = ListHead->Blink;
    if (Entry == ListHead)
        return ListHead;
    RemoveEntryList(Entry);
    return Entry;
}

VOID NTAPI AppendTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListToAppend)
{
    PLIST_ENTRY ListEnd = ListHead->Blink;
    ListHead->Blink->Flink = ListToAppend;
    ListHead->Blink = ListToAppend->Blink;
    ListToAppend->Blink->Flink = ListHead;
    ListToAppend->Blink = ListEnd;
}

VOID NTAPI PushEntryList(PSINGLE_LIST_ENTRY ListHead, PSINGLE_LIST_ENTRY Entry)
{
    Entry->Next = ListHead->Next;
    ListHead->Next = Entry;
}

PSINGLE_LIST_ENTRY NTAPI PopEntryList(PSINGLE_LIST_ENTRY ListHead)
{
    PSINGLE_LIST_ENTRY First = ListHead->Next;
    if (First)
        ListHead->Next = First->Next;
    return First;
}
