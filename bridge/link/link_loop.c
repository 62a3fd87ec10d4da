/* Test transports (no hardware, no Verilator):
 *
 * "null": a bus with nothing on it. Every access ends in a bus error; no interrupt lines; no
 *         clock of its own (the runtime keeps its own time).
 *
 * "loop": a deterministic virtual-time target in plain C, for tests of the HAL and the I/O
 *         paths without a model. 100 MHz clock; an access takes 1 cycle.
 *           memory 0x0000_0000-0x0000_FFFF  RAM (reads return what was written, reset 0)
 *           I/O    0x0000-0xFFFF            RAM
 *           memory 0x0001_0000  LINES_SET   w: raise the input of lines (bit n = line n)
 *           memory 0x0001_0004  LINES_CLR   w: lower the input of lines
 *           memory 0x0001_0008  TIMER       w: after this many cycles raise TIMER_LINE (0: off)
 *           memory 0x0001_000C  TIMER_LINE  rw: line the timer raises
 *           memory 0x0001_0010  ACCESSES    r: accesses so far (this one included)
 *           memory 0x0001_0020  DMA_SRC     rw: source (bus address, or RAM offset)
 *           memory 0x0001_0024  DMA_DST     rw: destination (bus address, or RAM offset)
 *           memory 0x0001_0028  DMA_LEN     rw: bytes
 *           memory 0x0001_002C  DMA_CTRL    w: start: 1 host->host (a DMA read of SRC, then a
 *                                           DMA write of DST), 2 host->RAM, 3 RAM->host;
 *                                           bits 15:8 = 1 + the line to raise when done (0: none)
 *           memory 0x0001_0030  DMA_STATUS  r: 0 done, 1 DMA fault (bus error), 2 bad request
 *         The DMA engine runs in the cycles of the CTRL write, one cycle per 4 bytes, in chunks
 *         of up to 256 bytes through the link's DMA handler (kmrig_link_dma_at: with a link
 *         profile the requests are pipelined and the engine ends when the last one is done).
 *         An interrupt unit with 8 lines behaves as the reference SoC's (docs/rtl.md, intc):
 *         reset all masked, level by default, edge lines latch until EOI, timestamps of the
 *         last rising edge.
 */
#include <kmrig/link.h>

#include <string.h>

#define LOOP_RAM 0x10000u
#define LOOP_CTL 0x10000u
#define LOOP_LINES 8u

struct loop {
    uint64_t now;
    uint8_t mem[LOOP_RAM];
    uint8_t io[LOOP_RAM];
    uint32_t input;   /* line input levels */
    uint32_t latched; /* edge lines latched */
    uint32_t mask;    /* 1 = masked */
    uint32_t edge;    /* 1 = edge mode */
    uint64_t ts[LOOP_LINES];
    uint64_t timer_due; /* absolute cycle; 0 = off */
    uint32_t timer_line;
    uint64_t accesses;
    uint32_t dma_src, dma_dst, dma_len, dma_status;
};

static uint32_t loop_pending(const struct loop *s)
{
    return ((s->input & ~s->edge) | (s->latched & s->edge)) & ((1u << LOOP_LINES) - 1);
}

static uint32_t loop_active(const struct loop *s)
{
    return loop_pending(s) & ~s->mask;
}

static void loop_set_input(struct loop *s, uint32_t input)
{
    uint32_t rise = input & ~s->input;
    for (unsigned i = 0; i < LOOP_LINES; i++)
        if (rise & (1u << i))
            s->ts[i] = s->now;
    s->latched |= rise;
    s->input = input;
}

/* Moves time to `to`, firing the timer on the way. */
static void loop_move(struct loop *s, uint64_t to)
{
    if (s->timer_due && s->timer_due <= to) {
        s->now = s->timer_due;
        s->timer_due = 0;
        loop_set_input(s, s->input | (1u << (s->timer_line % LOOP_LINES)));
    }
    s->now = to;
}

static void loop_reg(int write, uint32_t *value, uint32_t *reg)
{
    if (write)
        *reg = *value;
    else
        *value = *reg;
}

/* The DMA engine (see the top of the file). */
static void loop_dma(struct kmrig_link *link, struct loop *s, uint32_t ctrl)
{
    unsigned op = ctrl & 0xFF, done_line = (ctrl >> 8) & 0xFF;
    uint8_t chunk[256];
    s->dma_status = 0;
    if (op < 1 || op > 3 ||
        ((op == 2 && (uint64_t)s->dma_dst + s->dma_len > LOOP_RAM) ||
         (op == 3 && (uint64_t)s->dma_src + s->dma_len > LOOP_RAM))) {
        s->dma_status = 2;
        return;
    }
    /* Requests are issued one per (n + 3) / 4 cycles; the engine is done when the last is. */
    uint64_t issue = s->now, end = s->now;
    for (uint32_t off = 0; off < s->dma_len && !s->dma_status;) {
        size_t n = s->dma_len - off < sizeof chunk ? s->dma_len - off : sizeof chunk;
        int rc = KMRIG_LINK_OK;
        uint64_t ready = issue, done = issue;
        if (op == 1 || op == 2)
            rc = kmrig_link_dma_at(link, 0, (uint64_t)s->dma_src + off, chunk, n, issue, &ready);
        else
            memcpy(chunk, s->mem + s->dma_src + off, n);
        done = ready;
        if (rc == KMRIG_LINK_OK && op == 2)
            memcpy(s->mem + s->dma_dst + off, chunk, n);
        else if (rc == KMRIG_LINK_OK)
            rc = kmrig_link_dma_at(link, 1, (uint64_t)s->dma_dst + off, chunk, n, ready, &done);
        if (rc != KMRIG_LINK_OK)
            s->dma_status = 1;
        issue += (n + 3) / 4;
        uint64_t last = done > issue ? done : issue;
        if (last > end)
            end = last;
        off += (uint32_t)n;
    }
    loop_move(s, end);
    if (done_line)
        loop_set_input(s, s->input | (1u << ((done_line - 1) % LOOP_LINES)));
}

static int loop_open(struct kmrig_link *link, const char *args, struct kmrig_link_info *info)
{
    (void)link;
    if (*args)
        return KMRIG_LINK_EINVAL;
    struct loop *s = kmrig_link_priv(link);
    s->mask = (1u << LOOP_LINES) - 1;
    info->clock_hz = 100000000;
    info->irq_lines = LOOP_LINES;
    info->soc_id = 0x4C4F4F50; /* "LOOP" */
    info->soc_version = 0x00010000;
    info->virtual_time = 1;
    strcpy(info->description, "loopback test target (RAM, 8 interrupt lines) @ 100 MHz");
    return KMRIG_LINK_OK;
}

static void loop_close(struct kmrig_link *link)
{
    (void)link;
}

static int loop_access(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                       int write, uint32_t *value, uint64_t *ts)
{
    struct loop *s = kmrig_link_priv(link);
    loop_move(s, s->now + 1);
    s->accesses++;
    *ts = s->now;
    if (space == KMRIG_SPACE_IO || addr < LOOP_RAM) {
        uint8_t *ram = space == KMRIG_SPACE_IO ? s->io : s->mem;
        if (write) {
            for (unsigned i = 0; i < size; i++)
                ram[addr + i] = (uint8_t)(*value >> (8 * i));
        } else {
            uint32_t v = 0;
            for (unsigned i = 0; i < size; i++)
                v |= (uint32_t)ram[addr + i] << (8 * i);
            *value = v;
        }
        return KMRIG_LINK_OK;
    }
    if (size != 4 || addr >= LOOP_CTL + 0x34 || (addr >= LOOP_CTL + 0x14 && addr < LOOP_CTL + 0x20))
        return KMRIG_LINK_EBUS;
    switch (addr - LOOP_CTL) {
    case 0x0:
        if (write)
            loop_set_input(s, s->input | *value);
        else
            *value = s->input;
        break;
    case 0x4:
        if (write)
            loop_set_input(s, s->input & ~*value);
        else
            *value = 0;
        break;
    case 0x8:
        if (write)
            s->timer_due = *value ? s->now + *value : 0;
        else
            *value = s->timer_due ? (uint32_t)(s->timer_due - s->now) : 0;
        break;
    case 0xC:
        if (write)
            s->timer_line = *value % LOOP_LINES;
        else
            *value = s->timer_line;
        break;
    case 0x10:
        if (!write)
            *value = (uint32_t)s->accesses;
        break;
    case 0x20:
        loop_reg(write, value, &s->dma_src);
        break;
    case 0x24:
        loop_reg(write, value, &s->dma_dst);
        break;
    case 0x28:
        loop_reg(write, value, &s->dma_len);
        break;
    case 0x2C:
        if (write)
            loop_dma(link, s, *value);
        else
            *value = 0;
        break;
    case 0x30:
        if (!write)
            *value = s->dma_status;
        break;
    }
    return KMRIG_LINK_OK;
}

static int loop_read(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                     uint32_t *value, uint64_t *ts)
{
    return loop_access(link, space, addr, size, 0, value, ts);
}

static int loop_write(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                      uint32_t value, uint64_t *ts)
{
    return loop_access(link, space, addr, size, 1, &value, ts);
}

static int loop_irq_pending(struct kmrig_link *link, uint32_t *lines)
{
    *lines = loop_active(kmrig_link_priv(link));
    return KMRIG_LINK_OK;
}

static int loop_irq_control(struct kmrig_link *link, unsigned line, enum kmrig_irq_op op)
{
    struct loop *s = kmrig_link_priv(link);
    uint32_t bit = 1u << line;
    loop_move(s, s->now + 1); /* the operation is a bus write on a real interrupt unit */
    switch (op) {
    case KMRIG_IRQ_MASK:
        s->mask |= bit;
        break;
    case KMRIG_IRQ_UNMASK:
        s->mask &= ~bit;
        break;
    case KMRIG_IRQ_LEVEL:
        s->edge &= ~bit;
        break;
    case KMRIG_IRQ_EDGE:
        s->edge |= bit;
        break;
    case KMRIG_IRQ_EOI:
        s->latched &= ~bit;
        break;
    }
    return KMRIG_LINK_OK;
}

static int loop_irq_query(struct kmrig_link *link, struct kmrig_irq_state *state)
{
    const struct loop *s = kmrig_link_priv(link);
    uint32_t all = (1u << LOOP_LINES) - 1;
    state->pending = loop_pending(s);
    state->mask = s->mask & all;
    state->mode = s->edge & all;
    state->raw = s->input & all;
    state->active = loop_active(s);
    state->ts = s->now;
    return KMRIG_LINK_OK;
}

static int loop_irq_timestamp(struct kmrig_link *link, unsigned line, uint64_t *ts)
{
    *ts = ((struct loop *)kmrig_link_priv(link))->ts[line];
    return KMRIG_LINK_OK;
}

static uint64_t loop_now(struct kmrig_link *link)
{
    return ((struct loop *)kmrig_link_priv(link))->now;
}

static uint64_t loop_advance(struct kmrig_link *link, uint64_t cycles, int stop_on_irq)
{
    struct loop *s = kmrig_link_priv(link);
    uint64_t start = s->now;
    uint64_t end = UINT64_MAX - start < cycles ? UINT64_MAX : start + cycles;
    if (stop_on_irq && s->timer_due && s->timer_due <= end) {
        uint32_t before = loop_active(s);
        loop_move(s, s->timer_due);
        if (loop_active(s) != before)
            return s->now - start;
    }
    loop_move(s, end);
    return s->now - start;
}

static uint64_t loop_next_event(struct kmrig_link *link)
{
    struct loop *s = kmrig_link_priv(link);
    return s->timer_due ? s->timer_due - s->now : UINT64_MAX;
}

const struct kmrig_link_ops kmrig_link_loop_ops = {
    .name = "loop",
    .summary = "loopback test target: RAM, 8 interrupt lines, a timer, virtual time",
    .priv_size = sizeof(struct loop),
    .usage = "",
    .open = loop_open,
    .close = loop_close,
    .read = loop_read,
    .write = loop_write,
    .irq_pending = loop_irq_pending,
    .irq_control = loop_irq_control,
    .irq_timestamp = loop_irq_timestamp,
    .irq_query = loop_irq_query,
    .now = loop_now,
    .advance = loop_advance,
    .next_event = loop_next_event,
};

/* ---- null ------------------------------------------------------------------------------- */

static int null_open(struct kmrig_link *link, const char *args, struct kmrig_link_info *info)
{
    (void)link;
    if (*args)
        return KMRIG_LINK_EINVAL;
    strcpy(info->description, "null target (nothing on the bus)");
    return KMRIG_LINK_OK;
}

static int null_read(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                     uint32_t *value, uint64_t *ts)
{
    (void)link, (void)space, (void)addr, (void)size, (void)value, (void)ts;
    return KMRIG_LINK_EBUS;
}

static int null_write(struct kmrig_link *link, unsigned space, uint64_t addr, unsigned size,
                      uint32_t value, uint64_t *ts)
{
    (void)link, (void)space, (void)addr, (void)size, (void)value, (void)ts;
    return KMRIG_LINK_EBUS;
}

static int null_irq_pending(struct kmrig_link *link, uint32_t *lines)
{
    (void)link;
    *lines = 0;
    return KMRIG_LINK_OK;
}

static int null_irq_control(struct kmrig_link *link, unsigned line, enum kmrig_irq_op op)
{
    (void)link, (void)line, (void)op;
    return KMRIG_LINK_EINVAL; /* no lines */
}

const struct kmrig_link_ops kmrig_link_null_ops = {
    .name = "null",
    .summary = "an empty bus: every access is a bus error",
    .open = null_open,
    .close = loop_close,
    .read = null_read,
    .write = null_write,
    .irq_pending = null_irq_pending,
    .irq_control = null_irq_control,
};
