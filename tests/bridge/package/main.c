/* Opens the user's model and the reference SoC through the installed kmrig::sim, and checks
 * that each answers with its own map: exit 0 when it does. */
#include <kmrig/link.h>
#include <kmrig_soc_map.h>
#include <mysoc_map.h>

#include <stdio.h>

static int check(int cond, const char *what)
{
    if (!cond)
        fprintf(stderr, "FAIL: %s\n", what);
    return cond ? 0 : 1;
}

int main(void)
{
    struct kmrig_link *ref = NULL, *mine = NULL;
    char err[256];
    int bad = 0;
    if (kmrig_link_open("sim:model=mysoc", &mine, err, sizeof err) != KMRIG_LINK_OK ||
        kmrig_link_open("sim", &ref, err, sizeof err) != KMRIG_LINK_OK) {
        fprintf(stderr, "FAIL: %s\n", err);
        return 1;
    }
    uint32_t v = 0;
    bad |= check(kmrig_link_get_info(mine)->soc_id == MYSOC_ID, "user SoC id");
    bad |= check(kmrig_link_read(mine, KMRIG_SPACE_MEM, MYSOC_SYSID_BASE, 4, &v, NULL) == 0 &&
                     v == MYSOC_ID,
                 "user SoC sysid");
    /* The peripheral is in I/O-port space: CRC of one word fed by port writes. */
    bad |= check(kmrig_link_write(mine, KMRIG_SPACE_IO, MYSOC_DEV0_BASE + CRC32_DATA, 4, 0x34333231,
                                  NULL) == 0,
                 "port write");
    kmrig_link_advance(mine, 10, 0);
    bad |= check(kmrig_link_read(mine, KMRIG_SPACE_IO, MYSOC_DEV0_BASE + CRC32_CRC, 4, &v, NULL) ==
                         0 &&
                     v == 0x9BE3E0A3u, /* crc32("1234") */
                 "CRC over the I/O window");
    bad |= check(kmrig_link_read(ref, KMRIG_SPACE_MEM, KMRIG_SOC_SYSID_BASE, 4, &v, NULL) == 0 &&
                     v == KMRIG_SOC_ID,
                 "reference SoC sysid");
    kmrig_link_close(mine);
    kmrig_link_close(ref);
    if (!bad)
        printf("user SoC and reference SoC: ok\n");
    return bad;
}
