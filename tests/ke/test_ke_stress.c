/* Stress on 2-8 processors: thousands of DPCs, timers and waits (run under TSan). */
#include "kmtest.h"

#include <string.h>

#define STRESS_THREADS 6
#define STRESS_ROUNDS 400

typedef struct {
    KSPIN_LOCK Lock;
    LONGLONG Counter;
    KEVENT Go;
    KSEMAPHORE Sem;
    KDPC Dpc[STRESS_THREADS];
    volatile LONG DpcRuns;
    volatile LONG Done;
} STRESS;

static VOID NTAPI stress_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    STRESS *s = Context;
    KeAcquireSpinLockAtDpcLevel(&s->Lock);
    s->Counter++;
    KeReleaseSpinLockFromDpcLevel(&s->Lock);
    InterlockedIncrement((PLONG)&s->DpcRuns);
}

static VOID NTAPI stress_thread(PVOID ctx)
{
    STRESS *s = ctx;
    ULONG me = (ULONG)InterlockedIncrement((PLONG)&s->Done) - 1; /* reused below as a counter */
    KeWaitForSingleObject(&s->Go, Executive, KernelMode, FALSE, NULL);
    KTIMER timer;
    KeInitializeTimer(&timer);
    for (int i = 0; i < STRESS_ROUNDS; i++) {
        KIRQL old;
        KeAcquireSpinLock(&s->Lock, &old);
        s->Counter++;
        KeReleaseSpinLock(&s->Lock, old);
        KeInsertQueueDpc(&s->Dpc[me % STRESS_THREADS], NULL, NULL);
        if (i % 8 == 0) {
            LARGE_INTEGER due = {.QuadPart = -(LONGLONG)(1 + i % 5) * 100};
            KeSetTimer(&timer, due, NULL);
            KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, NULL);
        }
        KeReleaseSemaphore(&s->Sem, 0, 1, FALSE);
    }
}

static void run_stress(unsigned processors)
{
    kmrig_runtime *rt = kmtest_runtime(processors);
    static STRESS s;
    memset(&s, 0, sizeof s);
    KeInitializeSpinLock(&s.Lock);
    KeInitializeEvent(&s.Go, NotificationEvent, FALSE);
    KeInitializeSemaphore(&s.Sem, 0, MAXLONG);
    for (int i = 0; i < STRESS_THREADS; i++) {
        KeInitializeDpc(&s.Dpc[i], stress_dpc, &s);
        KeSetTargetProcessorDpc(&s.Dpc[i], (CCHAR)(i % processors));
    }
    HANDLE h[STRESS_THREADS];
    for (int i = 0; i < STRESS_THREADS; i++)
        assert_int_equal(PsCreateSystemThread(&h[i], 0, NULL, NULL, NULL, stress_thread, &s),
                         STATUS_SUCCESS);
    KeSetEvent(&s.Go, 0, FALSE);
    for (int i = 0; i < STRESS_THREADS * STRESS_ROUNDS; i++)
        assert_int_equal(KeWaitForSingleObject(&s.Sem, Executive, KernelMode, FALSE, NULL),
                         STATUS_SUCCESS);
    for (int i = 0; i < STRESS_THREADS; i++) {
        PVOID t;
        ObReferenceObjectByHandle(h[i], 0, *PsThreadType, KernelMode, &t, NULL);
        KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(t);
        ZwClose(h[i]);
    }
    KeFlushQueuedDpcs();
    /* Every increment under the lock is there; a DPC queued while already queued merges. */
    KIRQL old;
    KeAcquireSpinLock(&s.Lock, &old);
    LONGLONG counter = s.Counter;
    KeReleaseSpinLock(&s.Lock, old);
    assert_true(s.DpcRuns >= 1 && s.DpcRuns <= STRESS_THREADS * STRESS_ROUNDS);
    assert_int_equal(counter, (LONGLONG)STRESS_THREADS * STRESS_ROUNDS + s.DpcRuns);
    kmrig_runtime_destroy(rt);
}

static void test_ke_stress_one_processor(void **state)
{
    run_stress(1);
}
static void test_ke_stress_two_processors(void **state)
{
    run_stress(2);
}
static void test_ke_stress_four_processors(void **state)
{
    run_stress(4);
}
static void test_ke_stress_eight_processors(void **state)
{
    run_stress(8);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ke_stress_one_processor),
    cmocka_unit_test(test_ke_stress_two_processors),
    cmocka_unit_test(test_ke_stress_four_processors),
    cmocka_unit_test(test_ke_stress_eight_processors),
};
KMTEST_MAIN(tests)
