/*
 * ex.h - executive internals: the per-instance Ex state (rt->Ex) and the routines the Ex sources
 * share. Bookkeeping that is not driver-visible (pool tracking, the lists of lookasides, resources
 * and callback objects) is guarded by host mutexes: they are held for a few instructions, never
 * across a wait or a call into driver code, so taking them at any IRQL is safe.
 */
#ifndef KMRIG_INTERNAL_EX_H
#define KMRIG_INTERNAL_EX_H

#include "rt.h"
#include "vf.h"

#include <pthread.h>
#include <stdatomic.h>

#define EXP_PAGE_SIZE 4096u
#define EXP_CACHE_LINE 64u

/* Pool tags of the runtime's own allocations. */
/* 'enoN' (shows as "None"): ExAllocatePool without a tag, as NT. */
#define EXP_TAG_NONE ((ULONG)'e' << 24 | (ULONG)'n' << 16 | (ULONG)'o' << 8 | (ULONG)'N')

/* A pool block: [padding][EXP_POOL_HEADER][caller's bytes]. The header sits right before the
 * caller's pointer; Offset is the distance from the start of the host allocation. */
typedef struct _EXP_POOL_HEADER {
    ULONG Tag;
    USHORT Offset;
    UCHAR PoolType; /* base type: 0 nonpaged, 1 paged */
    UCHAR Flags;    /* EXP_POOL_* */
    SIZE_T NumberOfBytes;
} EXP_POOL_HEADER, *PEXP_POOL_HEADER;
C_ASSERT(sizeof(EXP_POOL_HEADER) == 16);

#define EXP_POOL_QUOTA 0x01

/* Verifier pool tracking: one record per block, live or recently freed. */
typedef struct _EXP_POOL_RECORD {
    struct _EXP_POOL_RECORD *Next; /* hash chain */
    PVOID Address;
    SIZE_T NumberOfBytes;
    ULONG Tag;
    UCHAR PoolType;
    BOOLEAN Freed;
    ULONG FreedSlot;        /* index + 1 in EXP_STATE.PoolFreed while Freed */
    ULONG64 HeaderContents; /* first 8 bytes of the header, for BAD_POOL_CALLER 0x07 */
    PVOID Caller;
} EXP_POOL_RECORD, *PEXP_POOL_RECORD;

#define EXP_POOL_BUCKETS 4096u
#define EXP_POOL_FREED_KEEP 4096u /* freed records kept to recognise a double free */

#define EXP_WORK_QUEUES 3 /* Critical, Delayed, HyperCritical */
#define EXP_WORKERS_PER_QUEUE 2

typedef struct _EXP_WORK_QUEUE {
    LIST_ENTRY Items;
    KSPIN_LOCK Lock;
    KSEMAPHORE Semaphore; /* one count per queued item, plus one per worker at shutdown */
    ULONG Threads;
    PVOID ThreadObjects[EXP_WORKERS_PER_QUEUE]; /* referenced KTHREADs, waited for at shutdown */
    KPRIORITY Priority;
} EXP_WORK_QUEUE, *PEXP_WORK_QUEUE;

typedef struct _EXP_STATE {
    /* Pool (verifier tracking only; the fast path touches none of this) */
    pthread_mutex_t PoolLock;
    PEXP_POOL_RECORD *PoolBuckets; /* [EXP_POOL_BUCKETS] */
    PEXP_POOL_RECORD *PoolFreed;   /* ring of freed records [EXP_POOL_FREED_KEEP] */
    ULONG PoolFreedNext;
    ULONG PoolLive; /* outstanding tracked blocks */
    /* Lookaside lists, resources and callback objects of this instance */
    pthread_mutex_t ListLock;
    LIST_ENTRY LookasideList; /* GENERAL_LOOKASIDE.ListEntry */
    LIST_ENTRY ResourceList;  /* ERESOURCE.SystemResourcesList */
    LIST_ENTRY CallbackList;  /* CALLBACK_OBJECT.Link */
    /* System worker threads */
    EXP_WORK_QUEUE WorkQueue[EXP_WORK_QUEUES];
    volatile BOOLEAN WorkersStopping;
} EXP_STATE, *PEXP_STATE;

/* Lookaside lists: the free blocks of processor 0 are the list's own ListHead; those of the other
 * processors are in one cache-line-aligned side block per list, whose address is kept in
 * GENERAL_LOOKASIDE.Future (reserved). Each cache is touched only by the holder of its processor's
 * baton (see lookaside.c), so the hit path needs no interlocked instruction. Slot 0 of the side
 * block is its header; slot n is processor n's cache. */
typedef union DECLSPEC_ALIGN(64) _EXP_LOOKASIDE_CACHE {
    SLIST_HEADER ListHead; /* slots 1..Processors-1: that processor's free blocks */
    ULONG Processors;      /* slot 0: the processor count of the instance */
    UCHAR Line[EXP_CACHE_LINE];
} EXP_LOOKASIDE_CACHE, *PEXP_LOOKASIDE_CACHE;
C_ASSERT(sizeof(EXP_LOOKASIDE_CACHE) == EXP_CACHE_LINE);

/* Pool */
NTSTATUS ExpInitializePool(struct kmrig_runtime *rt);
VOID ExpShutdownPool(struct kmrig_runtime *rt);
VOID ExpCheckPoolLeaks(struct kmrig_runtime *rt);
/* Verifier: bugchecks when [Start, Start+Size) holds a live lookaside list or ERESOURCE. */
VOID ExpCheckFreedObjects(struct kmrig_runtime *rt, PVOID Start, SIZE_T Size);
PVOID ExpAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, BOOLEAN Zero,
                      PVOID Caller);
VOID ExpFreePool(PVOID P, ULONG Tag, BOOLEAN CheckTag);

/* Work queues */
NTSTATUS ExpInitializeWorkers(struct kmrig_runtime *rt);
VOID ExpShutdownWorkers(struct kmrig_runtime *rt);

/* Callback objects */
NTSTATUS ExpInitializeCallbacks(struct kmrig_runtime *rt);
VOID ExpShutdownCallbacks(struct kmrig_runtime *rt);

/* The interlocked S-list primitives the lookaside lists use directly. */
PSLIST_ENTRY ExpPushSList(PSLIST_HEADER ListHead, PSLIST_ENTRY Entry);
PSLIST_ENTRY ExpPopSList(PSLIST_HEADER ListHead);

/* Verifier parameter-1 values of DRIVER_VERIFIER_DETECTED_VIOLATION used by Ex (the WDK's). */
#define EXP_VF_POOL_FREE_ACTIVE_LOOKASIDE 0xCC
#define EXP_VF_LOOKASIDE_REINITIALIZED 0xCA
#define EXP_VF_LOOKASIDE_DELETE_UNINITIALIZED 0xCB
#define EXP_VF_RESOURCE_REINITIALIZED 0xD0
#define EXP_VF_RESOURCE_DELETE_UNINITIALIZED 0xD1
#define EXP_VF_POOL_FREE_ACTIVE_RESOURCE 0xD2
#define EXP_VF_RESOURCE_APCS_ENABLED 0x37
#define EXP_VF_RESOURCE_RELEASE_APCS_ENABLED 0x38
#define EXP_VF_MUTEX_UNSAFE_ACQUIRE 0x39
#define EXP_VF_MUTEX_UNSAFE_RELEASE 0x3A
#define EXP_VF_FAST_MUTEX_ACQUIRE_IRQL 0x33
#define EXP_VF_FAST_MUTEX_RELEASE_IRQL 0x34
#define EXP_VF_WRONG_THREAD_RELEASE 0x1004
#define EXP_VF_UNACQUIRED_RELEASE 0x1007

/* Parameter 1 values of BAD_POOL_CALLER (0xC2). */
#define EXP_BPC_DOUBLE_FREE 0x07
#define EXP_BPC_WRONG_TAG 0x0A
#define EXP_BPC_INVALID_ADDRESS 0x46
#define EXP_BPC_MUST_SUCCEED 0x9A
#define EXP_BPC_ZERO_TAG 0x9B

static inline PEXP_STATE ExpState(struct kmrig_runtime *rt)
{
    return rt ? rt->Ex : NULL;
}

#endif
