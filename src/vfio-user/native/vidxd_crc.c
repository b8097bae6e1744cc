/*
 * vidxd_crc: the optional CRC-32C piece of vidxd's native addon, used by the DSA engine (CRCGEN,
 * COPY_CRC) and the migration stream when it is built. One call:
 *
 *   crc32c(bytes, offset, length) -> undefined
 *
 * advances the raw CRC-32C register crc32cState[0] (reflected polynomial 0x82F63B78, no inversion: the
 * DSA seed/result conventions of dsa-operations.md section 12.1 stay in JavaScript) over the Uint8Array
 * bytes[offset, offset + length) and writes it back to crc32cState[0]. crc32cState is a Uint32Array of
 * two elements the addon owns (one per Node environment, shared by every caller in it); crc32cState[1]
 * holds mode bits: bit 0 = bit-reverse every data byte first (DSA op flag 18), bit 1 = use the portable
 * table path even when the CPU has a CRC instruction (for tests). Register and mode travel through that
 * array rather than as arguments and a return value: a call converts two numbers and allocates nothing
 * (a uint32 result above 2^30 may become a heap number). `crc32cImpl` names the fast path in use:
 * "sse4.2" (the x86 crc32 instruction, three interleaved streams) or "slice-by-8" (portable tables).
 *
 * The three-stream scheme: a block of 3 * L bytes is split into three runs of L bytes whose CRCs are
 * computed independently (the instruction has a latency of about three cycles and a throughput of one
 * per cycle), the first from the incoming register, the other two from 0. Since the raw register update
 * is linear over GF(2), crc(A || B, r) = shift_L(crc(A, r)) ^ crc(B, 0), where shift_L is the register
 * advanced over L zero bytes: a 32x32 bit matrix, applied as four 256-entry tables built once.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>

#if defined(__x86_64__) || defined(__i386__)
#define VIDXD_X86 1
#include <nmmintrin.h>
#endif

#define POLY 0x82f63b78u
/* The block lengths of the three-stream path (multiples of 8): long blocks first, then short ones. */
#define LONG_LEN 1024
#define SHORT_LEN 128

#define MODE_MSB_FIRST 1u
#define MODE_PORTABLE 2u

static uint32_t table[8][256];        /* slice-by-8 tables, table[0] is the byte table */
static uint32_t shift_long[4][256];   /* register advanced over LONG_LEN zero bytes */
static uint32_t shift_short[4][256];  /* register advanced over SHORT_LEN zero bytes */
static uint8_t rev8[256];             /* bit reversal of a byte */
static int have_hw;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The register advanced over n zero bytes (bytewise; used only to build the shift tables). */
static uint32_t zeros(uint32_t r, size_t n) {
  while (n-- > 0) r = table[0][r & 0xff] ^ (r >> 8);
  return r;
}

static void build_shift(uint32_t t[4][256], size_t n) {
  uint32_t basis[32];
  for (int i = 0; i < 32; i++) basis[i] = zeros(1u << i, n);
  for (int k = 0; k < 4; k++) {
    for (int b = 0; b < 256; b++) {
      uint32_t v = 0;
      for (int i = 0; i < 8; i++)
        if (b & (1 << i)) v ^= basis[8 * k + i];
      t[k][b] = v;
    }
  }
}

static void init_tables(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
    table[0][i] = c;
    uint8_t r = 0;
    for (int k = 0; k < 8; k++)
      if (i & (1u << k)) r |= (uint8_t)(0x80u >> k);
    rev8[i] = r;
  }
  for (int k = 1; k < 8; k++)
    for (int i = 0; i < 256; i++) table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xff];
  build_shift(shift_long, LONG_LEN);
  build_shift(shift_short, SHORT_LEN);
#ifdef VIDXD_X86
  __builtin_cpu_init();
  have_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static inline uint32_t apply_shift(uint32_t t[4][256], uint32_t r) {
  return t[0][r & 0xff] ^ t[1][(r >> 8) & 0xff] ^ t[2][(r >> 16) & 0xff] ^ t[3][r >> 24];
}

/* Eight bytes at p as a little-endian word, each byte bit-reversed when `msb` is set. */
static inline uint64_t load64(const uint8_t *p, int msb) {
  uint64_t w;
  memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  if (msb) {
    w = ((w >> 1) & 0x5555555555555555ull) | ((w & 0x5555555555555555ull) << 1);
    w = ((w >> 2) & 0x3333333333333333ull) | ((w & 0x3333333333333333ull) << 2);
    w = ((w >> 4) & 0x0f0f0f0f0f0f0f0full) | ((w & 0x0f0f0f0f0f0f0f0full) << 4);
  }
  return w;
}

static inline uint8_t byte_at(const uint8_t *p, int msb) {
  return msb ? rev8[*p] : *p;
}

/* One word and one byte of the portable path (slice-by-8 tables). */
static inline uint32_t word_sw(uint32_t r, uint64_t w) {
  w ^= r;
  return table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^ table[4][(w >> 24) & 0xff] ^
         table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
}

static inline uint32_t byte_sw(uint32_t r, uint8_t b) {
  return table[0][(r ^ b) & 0xff] ^ (r >> 8);
}

/*
 * The register update, as three functions per path (the data order `msb` a constant in each):
 * blocks_<path> runs three interleaved streams of `len` bytes each (at p, p + len, p + 2 len; len a
 * multiple of 8) while 3 len bytes are left and joins them with the shift tables; update_<path> aligns
 * p to 8 bytes, runs long then short blocks, then single words and bytes. Both paths use the streams:
 * the instruction because of its latency, the tables because one word's lookups wait on the previous
 * word's register.
 */
#define DEFINE_UPDATE(path, ATTR, WORD, BYTE)                                                                       \
  ATTR static inline uint32_t blocks_##path(uint32_t r, const uint8_t **pp, size_t *np, size_t len,                  \
                                           uint32_t shift[4][256], int msb) {                                       \
    const uint8_t *p = *pp;                                                                                         \
    size_t n = *np;                                                                                                 \
    while (n >= 3 * len) {                                                                                          \
      uint32_t c0 = r, c1 = 0, c2 = 0;                                                                              \
      const uint8_t *end = p + len;                                                                                 \
      do {                                                                                                          \
        c0 = WORD(c0, load64(p, msb));                                                                              \
        c1 = WORD(c1, load64(p + len, msb));                                                                        \
        c2 = WORD(c2, load64(p + 2 * len, msb));                                                                    \
        p += 8;                                                                                                     \
      } while (p < end);                                                                                            \
      r = apply_shift(shift, c0) ^ c1;                                                                              \
      r = apply_shift(shift, r) ^ c2;                                                                               \
      p += 2 * len;                                                                                                 \
      n -= 3 * len;                                                                                                 \
    }                                                                                                               \
    *pp = p;                                                                                                        \
    *np = n;                                                                                                        \
    return r;                                                                                                       \
  }                                                                                                                 \
  ATTR static inline uint32_t update_##path(uint32_t r, const uint8_t *p, size_t n, int msb) {                       \
    while (n > 0 && ((uintptr_t)p & 7) != 0) {                                                                      \
      r = BYTE(r, byte_at(p++, msb));                                                                               \
      n--;                                                                                                          \
    }                                                                                                               \
    r = blocks_##path(r, &p, &n, LONG_LEN, shift_long, msb);                                                        \
    r = blocks_##path(r, &p, &n, SHORT_LEN, shift_short, msb);                                                      \
    while (n >= 8) {                                                                                                \
      r = WORD(r, load64(p, msb));                                                                                  \
      p += 8;                                                                                                       \
      n -= 8;                                                                                                       \
    }                                                                                                               \
    while (n-- > 0) r = BYTE(r, byte_at(p++, msb));                                                                 \
    return r;                                                                                                       \
  }                                                                                                                 \
  ATTR static uint32_t update_##path##_lsb(uint32_t r, const uint8_t *p, size_t n) {                                \
    return update_##path(r, p, n, 0);                                                                               \
  }                                                                                                                 \
  ATTR static uint32_t update_##path##_msb(uint32_t r, const uint8_t *p, size_t n) {                                \
    return update_##path(r, p, n, 1);                                                                               \
  }

#define NO_ATTR
DEFINE_UPDATE(sw, NO_ATTR, word_sw, byte_sw)

#ifdef VIDXD_X86
#if defined(__x86_64__)
#define WORD_HW(c, w) ((uint32_t)_mm_crc32_u64((c), (w)))
#else
#define WORD_HW(c, w) _mm_crc32_u32(_mm_crc32_u32((c), (uint32_t)(w)), (uint32_t)((w) >> 32))
#endif
#define BYTE_HW(c, b) _mm_crc32_u8((c), (b))
DEFINE_UPDATE(hw, __attribute__((target("sse4.2"))), WORD_HW, BYTE_HW)
#endif

static uint32_t update(uint32_t r, const uint8_t *p, size_t n, uint32_t mode) {
#ifdef VIDXD_X86
  if (have_hw && !(mode & MODE_PORTABLE)) return (mode & MODE_MSB_FIRST) ? update_hw_msb(r, p, n) : update_hw_lsb(r, p, n);
#endif
  return (mode & MODE_MSB_FIRST) ? update_sw_msb(r, p, n) : update_sw_lsb(r, p, n);
}

/* Per Node environment (main thread, each Worker): the state array every caller shares. */
struct instance {
  napi_ref state_ref;
  uint32_t *state;
};

static void free_instance(napi_env env, void *data, void *hint) {
  struct instance *inst = data;
  napi_delete_reference(env, inst->state_ref);
  free(inst);
}

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_range_error(env, "EINVAL", msg);
  return NULL;
}

static napi_value js_crc32c(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_typedarray_type type;
  size_t bytes_len;
  void *bytes_data;
  int64_t off, len;
  struct instance *inst;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&inst) != napi_ok || argc < 3) return fail(env, "crc32c(bytes, offset, length)");
  if (napi_get_typedarray_info(env, argv[0], &type, &bytes_len, &bytes_data, NULL, NULL) != napi_ok || type != napi_uint8_array)
    return fail(env, "crc32c: bytes must be a Uint8Array");
  if (napi_get_value_int64(env, argv[1], &off) != napi_ok || napi_get_value_int64(env, argv[2], &len) != napi_ok)
    return fail(env, "crc32c: offset and length must be numbers");
  if (off < 0 || len < 0 || (uint64_t)off > bytes_len || (uint64_t)len > bytes_len - (uint64_t)off)
    return fail(env, "crc32c: offset and length out of the array");
  if (len > 0) inst->state[0] = update(inst->state[0], (const uint8_t *)bytes_data + off, (size_t)len, inst->state[1]);
  return NULL;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  pthread_once(&once, init_tables);
  struct instance *inst = calloc(1, sizeof *inst);
  napi_value buffer, state, impl, fn;
  void *data;
  if (inst == NULL) {
    napi_throw_error(env, "ENOMEM", "vidxd_crc: out of memory");
    return NULL;
  }
  /* An ArrayBuffer's backing store never moves: the pointer stays valid while the reference holds it. */
  if (napi_create_arraybuffer(env, 8, &data, &buffer) != napi_ok || napi_create_typedarray(env, napi_uint32_array, 2, buffer, 0, &state) != napi_ok ||
      napi_create_reference(env, state, 1, &inst->state_ref) != napi_ok) {
    free(inst);
    return NULL;
  }
  inst->state = data;
  napi_set_instance_data(env, inst, free_instance, NULL);
  napi_create_string_utf8(env, have_hw ? "sse4.2" : "slice-by-8", NAPI_AUTO_LENGTH, &impl);
  napi_create_function(env, "crc32c", NAPI_AUTO_LENGTH, js_crc32c, inst, &fn);
  napi_property_descriptor props[] = {
      {"crc32c", NULL, NULL, NULL, NULL, fn, napi_enumerable, NULL},
      {"crc32cState", NULL, NULL, NULL, NULL, state, napi_enumerable, NULL},
      {"crc32cImpl", NULL, NULL, NULL, NULL, impl, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
