/* Doubly and singly linked lists (host/rtl/list.c). */
#include "kmtest.h"

typedef struct _ITEM {
    ULONG Tag;
    LIST_ENTRY Link;
    SINGLE_LIST_ENTRY Single;
} ITEM;

static ITEM *item_of(PLIST_ENTRY e)
{
    return CONTAINING_RECORD(e, ITEM, Link);
}

static void init_items(ITEM *items, unsigned n)
{
    kmtest_junk(items, n * sizeof *items);
    for (unsigned i = 0; i < n; i++)
        items[i].Tag = i;
}

/* Walks the list both ways and checks it holds exactly tags[0..n). */
static void assert_list(PLIST_ENTRY head, const ULONG *tags, unsigned n)
{
    unsigned i = 0;
    for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink, i++) {
        assert_true(i < n);
        assert_int_equal(item_of(e)->Tag, tags[i]);
        assert_ptr_equal(e->Flink->Blink, e);
    }
    assert_int_equal(i, n);
    for (PLIST_ENTRY e = head->Blink; e != head; e = e->Blink)
        assert_int_equal(item_of(e)->Tag, tags[--i]);
    assert_int_equal(IsListEmpty(head), n == 0);
}

static void test_initialize_list_head_is_empty(void **state)
{
    LIST_ENTRY head;
    kmtest_junk(&head, sizeof head);
    InitializeListHead(&head);
    assert_ptr_equal(head.Flink, &head);
    assert_ptr_equal(head.Blink, &head);
    assert_true(IsListEmpty(&head));
}

static void test_insert_tail_and_head_list_order(void **state)
{
    LIST_ENTRY head;
    ITEM it[4];
    init_items(it, 4);
    kmtest_junk(&head, sizeof head);
    InitializeListHead(&head);
    InsertTailList(&head, &it[1].Link);
    InsertTailList(&head, &it[2].Link);
    InsertHeadList(&head, &it[0].Link);
    InsertTailList(&head, &it[3].Link);
    assert_false(IsListEmpty(&head));
    assert_list(&head, (const ULONG[]){0, 1, 2, 3}, 4);
}

static void test_remove_head_and_tail_list(void **state)
{
    LIST_ENTRY head;
    ITEM it[3];
    init_items(it, 3);
    InitializeListHead(&head);
    for (int i = 0; i < 3; i++)
        InsertTailList(&head, &it[i].Link);
    assert_int_equal(item_of(RemoveHeadList(&head))->Tag, 0);
    assert_list(&head, (const ULONG[]){1, 2}, 2);
    assert_int_equal(item_of(RemoveTailList(&head))->Tag, 2);
    assert_list(&head, (const ULONG[]){1}, 1);
    assert_int_equal(item_of(RemoveTailList(&head))->Tag, 1);
    assert_true(IsListEmpty(&head));
    /* Removing from an empty list returns the head itself and leaves it empty. */
    assert_ptr_equal(RemoveHeadList(&head), &head);
    assert_ptr_equal(RemoveTailList(&head), &head);
    assert_true(IsListEmpty(&head));
}

static void test_remove_entry_list_reports_empty(void **state)
{
    LIST_ENTRY head;
    ITEM it[3];
    init_items(it, 3);
    InitializeListHead(&head);
    for (int i = 0; i < 3; i++)
        InsertTailList(&head, &it[i].Link);
    assert_false(RemoveEntryList(&it[1].Link));
    assert_list(&head, (const ULONG[]){0, 2}, 2);
    assert_false(RemoveEntryList(&it[2].Link));
    assert_true(RemoveEntryList(&it[0].Link));
    assert_true(IsListEmpty(&head));
}

static void test_append_tail_list(void **state)
{
    LIST_ENTRY head;
    ITEM it[5];
    init_items(it, 5);
    InitializeListHead(&head);
    InsertTailList(&head, &it[0].Link);
    InsertTailList(&head, &it[1].Link);
    /* A headless list of 2, 3, 4 (its first entry stands for the list). */
    it[2].Link.Flink = it[2].Link.Blink = &it[2].Link;
    InsertTailList(&it[2].Link, &it[3].Link);
    InsertTailList(&it[2].Link, &it[4].Link);
    AppendTailList(&head, &it[2].Link);
    assert_list(&head, (const ULONG[]){0, 1, 2, 3, 4}, 5);
}

static void test_push_and_pop_entry_list(void **state)
{
    SINGLE_LIST_ENTRY head;
    ITEM it[3];
    init_items(it, 3);
    head.Next = NULL;
    assert_null(PopEntryList(&head));
    for (int i = 0; i < 3; i++)
        PushEntryList(&head, &it[i].Single);
    for (int i = 2; i >= 0; i--) {
        PSINGLE_LIST_ENTRY e = PopEntryList(&head);
        assert_ptr_equal(e, &it[i].Single); /* LIFO */
    }
    assert_null(PopEntryList(&head));
    assert_null(head.Next);
}

static void corrupt_remove(void *arg)
{
    LIST_ENTRY head;
    ITEM it[2];
    InitializeListHead(&head);
    InsertTailList(&head, &it[0].Link);
    InsertTailList(&head, &it[1].Link);
    it[1].Link.Blink = &head; /* it[0] no longer linked back */
    RemoveEntryList(&it[1].Link);
}

static void corrupt_insert(void *arg)
{
    LIST_ENTRY head, stray;
    ITEM it;
    InitializeListHead(&head);
    head.Flink = &stray; /* stray.Blink is garbage */
    kmtest_junk(&stray, sizeof stray);
    stray.Blink = &stray;
    InsertHeadList(&head, &it.Link);
}

static void test_list_corruption_fast_fails(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(corrupt_remove, NULL, p), KERNEL_SECURITY_CHECK_FAILURE);
    assert_int_equal(p[0], 3); /* FAST_FAIL_CORRUPT_LIST_ENTRY */
    assert_int_equal(kmtest_bugcheck_of(corrupt_insert, NULL, p), KERNEL_SECURITY_CHECK_FAILURE);
    assert_int_equal(p[0], 3);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_initialize_list_head_is_empty),
    cmocka_unit_test(test_insert_tail_and_head_list_order),
    cmocka_unit_test(test_remove_head_and_tail_list),
    cmocka_unit_test(test_remove_entry_list_reports_empty),
    cmocka_unit_test(test_append_tail_list),
    cmocka_unit_test(test_push_and_pop_entry_list),
    cmocka_unit_test(test_list_corruption_fast_fails),
};

KMTEST_MAIN(tests)
