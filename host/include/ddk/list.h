/* ddk/list.h - doubly and singly linked lists (wdm.h inlines; real functions here). */
#ifndef KMRIG_DDK_LIST_H
#define KMRIG_DDK_LIST_H

#ifdef __cplusplus
extern "C" {
#endif

NTKERNELAPI VOID NTAPI InitializeListHead(PLIST_ENTRY ListHead);
NTKERNELAPI BOOLEAN NTAPI IsListEmpty(const LIST_ENTRY *ListHead);
NTKERNELAPI VOID NTAPI InsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry);
NTKERNELAPI VOID NTAPI InsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY Entry);
NTKERNELAPI PLIST_ENTRY NTAPI RemoveHeadList(PLIST_ENTRY ListHead);
NTKERNELAPI PLIST_ENTRY NTAPI RemoveTailList(PLIST_ENTRY ListHead);
/* Returns TRUE if the list is empty after the removal. */
NTKERNELAPI BOOLEAN NTAPI RemoveEntryList(PLIST_ENTRY Entry);
NTKERNELAPI VOID NTAPI AppendTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListToAppend);
NTKERNELAPI VOID NTAPI PushEntryList(PSINGLE_LIST_ENTRY ListHead, PSINGLE_LIST_ENTRY Entry);
NTKERNELAPI PSINGLE_LIST_ENTRY NTAPI PopEntryList(PSINGLE_LIST_ENTRY ListHead);

#ifdef __cplusplus
}
#endif

#endif
