/**
 * The native CRC-32C (`vidxd_crc.node`): both of its code paths (the CPU's CRC instruction and the
 * portable slice-by-8) against every CRC-32C check value of dsa-operations.md §12.3 and against the
 * JavaScript implementation on seeded random buffers (every length 0..200 at every alignment, long
 * buffers across the three-stream block sizes, chained registers, both data orders), the engine's
 * dispatch (which buffers go to the addon), CRCGEN/COPY_CRC through the engine in every flag
 * combination, a SharedArrayBuffer, a Worker, and the refusals of bad arguments.
 *
 * Without the addon these tests are skipped with one line saying why — except under CI, which builds
 * the addon, so there a missing addon fails them.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  Cr,
  CRC32C_IMPLEMENTATION,
  CRC32C_NATIVE_MIN,
  CRC32C_NATIVE_MIN_MSB_FIRST,
  crc32c,
  crc32cFinish,
  crc32cStart,
  crc32cUpdate,
  crc32cUpdateJs,
  crc32cUpdateMsbFirst,
  crc32cUpdateMsbFirstJs,
  Desc,
  Flag,
  Opcode,
  OpFlag,
} from '../../src/dsa/index.js';
import { addonFile, addonUnavailableReason, loadAddon, NATIVE_CRC_MSB_FIRST, NATIVE_CRC_PORTABLE, type NativeCrc } from '../../src/native.js';
import { Prng } from '../util/prng.js';
import { isCi } from '../util/system-tools.js';
import { ascii, DATA, Harness, pat, ramp } from './harness.js';

const addon = loadAddon<NativeCrc>('vidxd_crc');
const missing = addon === null ? addonUnavailableReason('vidxd_crc') : '';
const skip = addon === null && !isCi();
if (skip) console.log(`vidxd tests: the native CRC-32C was not tested (${missing}); build the addon with \`node src/vfio-user/native/install.mjs\``);
/** The engine was told to use JavaScript for this run (then its dispatch is not the addon's). */
const forcedJs = process.env['VIDXD_CRC'] === 'js';

function need(): NativeCrc {
  if (addon === null) throw new Error(`the native CRC-32C addon is missing (${missing}), and CI builds it`);
  return addon;
}

/** The addon's raw register update with `mode` (NATIVE_CRC_MSB_FIRST, NATIVE_CRC_PORTABLE). */
function raw(r: number, bytes: Uint8Array, off: number, len: number, mode: number): number {
  const a = need();
  a.crc32cState[0] = r;
  a.crc32cState[1] = mode;
  a.crc32c(bytes, off, len);
  return a.crc32cState[0] as number;
}

/** The JavaScript raw register update for `mode`. */
function js(r: number, bytes: Uint8Array, off: number, len: number, mode: number): number {
  return (mode & NATIVE_CRC_MSB_FIRST) !== 0 ? crc32cUpdateMsbFirstJs(r, bytes, off, len) : crc32cUpdateJs(r, bytes, off, len);
}

/** A DSA CRC (§12.1) through the addon: seed, op flag 17 (`bypass`), op flag 18 (`msb`), `portable` path. */
function dsaNative(data: Uint8Array, seed: number, bypass: boolean, msb: boolean, portable: boolean): number {
  const mode = (msb ? NATIVE_CRC_MSB_FIRST : 0) | (portable ? NATIVE_CRC_PORTABLE : 0);
  return crc32cFinish(raw(crc32cStart(seed >>> 0, bypass), data, 0, data.length, mode), bypass);
}

/** A DSA CRC (§12.1) in JavaScript only. */
function dsaJs(data: Uint8Array, seed: number, bypass: boolean, msb: boolean): number {
  return crc32cFinish(js(crc32cStart(seed >>> 0, bypass), data, 0, data.length, msb ? NATIVE_CRC_MSB_FIRST : 0), bypass);
}

const fill = (n: number, b: number): Uint8Array => new Uint8Array(n).fill(b);
const MODES = [0, NATIVE_CRC_MSB_FIRST, NATIVE_CRC_PORTABLE, NATIVE_CRC_MSB_FIRST | NATIVE_CRC_PORTABLE];
const PATHS = [
  ['the instruction path', false],
  ['the portable path', true],
] as const;

describe.skipIf(skip)('the native CRC-32C addon', () => {
  it('is built and loads, and picks the SSE4.2 instruction exactly when the CPU has it', () => {
    expect(missing).toBe('');
    let sse42 = false;
    try {
      sse42 = /^flags\s*:.*\bsse4_2\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
    } catch {
      sse42 = false;
    }
    expect(need().crc32cImpl).toBe(sse42 && (process.arch === 'x64' || process.arch === 'ia32') ? 'sse4.2' : 'slice-by-8');
  });

  it.skipIf(forcedJs)('is what the engine uses (CRC32C_IMPLEMENTATION)', () => {
    expect(CRC32C_IMPLEMENTATION).toEqual({ path: 'native', impl: need().crc32cImpl, reason: '' });
  });

  for (const [name, portable] of PATHS) {
    it(`reproduces every CRC-32C check value of §12.3 on ${name}`, () => {
      const r4096 = ramp(4096);
      const cases: [Uint8Array, number, boolean, boolean, number][] = [
        [ascii('123456789'), 0, false, false, 0xe3069283],
        [ascii('123456789'), 0x12345678, false, false, 0x27d87b6a],
        [ascii('123456789'), 0xffffffff, false, false, 0xa71c05df],
        [ascii('1234'), 0, false, false, 0xf63af4ee],
        [ascii('56789'), 0xf63af4ee, false, false, 0xe3069283],
        [fill(4096, 0), 0, false, false, 0x98f94189],
        [fill(4096, 0xff), 0, false, false, 0x25c1fe13],
        [r4096, 0, false, false, 0x9c71fe32],
        [fill(32, 0), 0, false, false, 0x8a9136aa],
        [fill(32, 0xff), 0, false, false, 0x62a8ab43],
        [ramp(32), 0, false, false, 0x46dd794e],
        [Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0, false, false, 0x113fdb5c],
        [pat(4096), 0, false, false, 0x820c97a4],
        [pat(4096), 0x12345678, false, false, 0x1b6f4410],
        [ascii('123456789'), 0, true, false, 0x045fc71a],
        [ascii('123456789'), 0x12345678, true, false, 0xa1b203f2],
        [ascii('123456789'), 0, false, true, 0xa8f022a0],
        [ascii('123456789'), 0, true, true, 0xc052a8c8],
      ];
      for (const [data, seed, bypass, msb, want] of cases) {
        expect(dsaNative(data, seed, bypass, msb, portable), `${data.length} bytes, seed ${seed.toString(16)}, flags ${+bypass}${+msb}`).toBe(want);
      }
      // The chained rows: ramp(4096) split at 2048 and at 1000.
      for (const at of [2048, 1000]) {
        const first = dsaNative(r4096.subarray(0, at), 0, false, false, portable);
        expect(dsaNative(r4096.subarray(at), first, false, false, portable)).toBe(0x9c71fe32);
      }
    });
  }

  it('equals the JavaScript update for every length 0..200 at every alignment 0..8, in every mode', () => {
    const buf = new Prng(0xc32c).bytes(256);
    for (const mode of MODES) {
      for (let off = 0; off <= 8; off++) {
        for (let len = 0; len <= 200; len++) {
          const r = (len * 0x9e3779b9 + off) >>> 0;
          if (raw(r, buf, off, len, mode) !== js(r, buf, off, len, mode)) expect({ mode, off, len }).toBe('equal');
        }
      }
    }
  });

  it('equals the JavaScript update on seeded random buffers: lengths to 8 KiB and around the three-stream blocks, unaligned views', () => {
    const prng = new Prng(19);
    const base = prng.bytes(3 * 8192 + 128);
    // A view whose byteOffset is odd, so no offset into it is 8-aligned by accident.
    const buf = new Uint8Array(base.buffer, 3, base.length - 3);
    const edges = [3 * 1024, 3 * 128, 6 * 1024, 3 * 1024 + 3 * 128, 8192];
    for (let k = 0; k < 1500; k++) {
      const mode = MODES[k & 3] as number;
      const off = prng.below(64);
      const len = k % 3 === 0 ? Math.max(0, (edges[prng.below(edges.length)] as number) + prng.range(-9, 9)) : prng.below(8192);
      const r = prng.u32();
      if (raw(r, buf, off, len, mode) !== js(r, buf, off, len, mode)) expect({ mode, off, len, r }).toBe('equal');
    }
  });

  it('equals the JavaScript update over 1 MiB + 13 bytes (many long blocks) in both data orders', () => {
    const data = new Prng(1).bytes((1 << 20) + 13);
    for (const mode of MODES) expect(raw(0x01234567, data, 5, data.length - 5, mode)).toBe(js(0x01234567, data, 5, data.length - 5, mode));
  });

  it('chains: a CRC seeded with the CRC of A, over B, equals the CRC of A‖B for any split, in every flag combination', () => {
    const prng = new Prng(0x5eed);
    const data = prng.bytes(5000);
    for (const bypass of [false, true]) {
      for (const msb of [false, true]) {
        for (const portable of [false, true]) {
          const whole = dsaJs(data, 0x5555aaaa, bypass, msb);
          for (let k = 0; k < 12; k++) {
            const at = prng.below(5001);
            const first = dsaNative(data.subarray(0, at), 0x5555aaaa, bypass, msb, portable);
            expect(dsaNative(data.subarray(at), first, bypass, msb, portable)).toBe(whole);
          }
        }
      }
    }
  });

  it('reads a Uint8Array over a SharedArrayBuffer (guest memory shared with Workers)', () => {
    const sab = new Uint8Array(new SharedArrayBuffer(10000), 16);
    new Prng(7).fill(sab);
    for (const mode of MODES) expect(raw(0xffffffff, sab, 1, 9000, mode)).toBe(js(0xffffffff, sab, 1, 9000, mode));
  });

  it('refuses a range outside the array, a negative offset, a non-Uint8Array and missing arguments with a RangeError (EINVAL), and leaves the register alone', () => {
    const a = need();
    const b = new Uint8Array(100);
    a.crc32cState[0] = 0x1234;
    a.crc32cState[1] = 0;
    const calls: (() => void)[] = [
      () => a.crc32c(b, 90, 11),
      () => a.crc32c(b, 101, 0),
      () => a.crc32c(b, -1, 1),
      () => a.crc32c(b, 0, -1),
      () => a.crc32c(new Uint16Array(50) as unknown as Uint8Array, 0, 1),
      () => (a.crc32c as (...args: unknown[]) => void)(b, 0),
    ];
    for (const call of calls) expect(call).toThrow(expect.objectContaining({ name: 'RangeError', code: 'EINVAL' }));
    a.crc32c(b, 100, 0);
    a.crc32c(b.subarray(100), 0, 0);
    expect(a.crc32cState[0]).toBe(0x1234);
  });

  it('runs in a Worker with its own register, on the same shared bytes, with the same result', async () => {
    const sab = new Uint8Array(new SharedArrayBuffer(70000));
    new Prng(23).fill(sab);
    need();
    const file = addonFile('vidxd_crc');
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const a = require(workerData.file);
       const out = [];
       for (let mode = 0; mode < 4; mode++) {
         a.crc32cState[0] = 0xffffffff; a.crc32cState[1] = mode;
         a.crc32c(workerData.bytes, 3, 65536);
         out.push(a.crc32cState[0]);
       }
       parentPort.postMessage(out);`,
      { eval: true, workerData: { file, bytes: sab } },
    );
    const got = await new Promise<number[]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    // The main thread's register is untouched by the Worker's calls.
    need().crc32cState[0] = 0xabcdef;
    expect(got).toEqual(MODES.map((_, mode) => js(0xffffffff, sab, 3, 65536, mode)));
    expect(need().crc32cState[0]).toBe(0xabcdef);
  });
});

describe.skipIf(skip || forcedJs)("the engine's CRC-32C dispatch", () => {
  it(`hands buffers of CRC32C_NATIVE_MIN (${CRC32C_NATIVE_MIN}) bytes and more to the addon, shorter ones to JavaScript`, () => {
    const a = need();
    const data = new Prng(3).bytes(CRC32C_NATIVE_MIN + 5);
    // The addon writes its register to crc32cState[0]: a call leaves the result there, JavaScript leaves the sentinel.
    a.crc32cState[0] = 0xdead;
    const short = crc32cUpdate(0xffffffff, data, 1, CRC32C_NATIVE_MIN - 1);
    expect([a.crc32cState[0], short]).toEqual([0xdead, crc32cUpdateJs(0xffffffff, data, 1, CRC32C_NATIVE_MIN - 1)]);
    const long = crc32cUpdate(0xffffffff, data, 1, CRC32C_NATIVE_MIN);
    expect([a.crc32cState[0], long]).toEqual([long, crc32cUpdateJs(0xffffffff, data, 1, CRC32C_NATIVE_MIN)]);
    a.crc32cState[0] = 0xdead;
    crc32cUpdateMsbFirst(0xffffffff, data, 0, CRC32C_NATIVE_MIN_MSB_FIRST - 1);
    expect(a.crc32cState[0]).toBe(0xdead);
    const msb = crc32cUpdateMsbFirst(0xffffffff, data, 0, CRC32C_NATIVE_MIN_MSB_FIRST);
    expect([a.crc32cState[0], msb]).toEqual([msb, crc32cUpdateMsbFirstJs(0xffffffff, data, 0, CRC32C_NATIVE_MIN_MSB_FIRST)]);
  });

  it('crc32c() of a buffer crossing the threshold in pieces equals the whole, whichever side each piece ran on', () => {
    const data = new Prng(4).bytes(3 * CRC32C_NATIVE_MIN);
    for (const at of [1, CRC32C_NATIVE_MIN - 1, CRC32C_NATIVE_MIN, CRC32C_NATIVE_MIN + 1, 2 * CRC32C_NATIVE_MIN]) {
      expect(crc32c(data.subarray(at), crc32c(data.subarray(0, at)))).toBe(crc32c(data));
    }
  });

  it('CRCGEN and COPY_CRC through the engine run on the addon and match JavaScript in every flag combination, at unaligned addresses', () => {
    const h = new Harness();
    const data = new Prng(11).bytes(5003);
    h.put(DATA + 3, data);
    for (const copy of [false, true]) {
      for (const flags of [0, OpFlag.CRC_BYPASS_INVERSION, OpFlag.CRC_BYPASS_DATA_REFLECTION, OpFlag.CRC_BYPASS_INVERSION | OpFlag.CRC_BYPASS_DATA_REFLECTION]) {
        const bypass = (flags & OpFlag.CRC_BYPASS_INVERSION) !== 0;
        const msb = (flags & OpFlag.CRC_BYPASS_DATA_REFLECTION) !== 0;
        need().crc32cState[0] = 0xdead;
        h.start(copy ? Opcode.COPY_CRC : Opcode.CRCGEN, Flag.CRAV | Flag.RCR | flags).addr(Desc.SRC, DATA + 3).u32(Desc.CRC_SEED, 0x9abcdef0).size(data.length);
        if (copy) h.addr(Desc.DST, DATA + 0x8005);
        expect(h.exec()).toBe(1);
        const got = h.cr().u32(Cr.CRC);
        expect(got, `copy ${copy} flags ${flags.toString(16)}`).toBe(dsaJs(data, 0x9abcdef0, bypass, msb));
        expect(need().crc32cState[0]).not.toBe(0xdead);
        if (copy) expect(h.at(DATA + 0x8005, data.length)).toEqual(data);
      }
    }
  });
});
