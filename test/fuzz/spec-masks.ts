/**
 * A second, independent oracle for "read-only bits never change": the bits of a vdev's BAR0 and
 * config space that the spec (vidxd-device.md §3, §4, §6) lets neither the guest nor the device
 * change, written down here from the spec text rather than compiled from the library's tables. The
 * table-driven check (checks.ts) catches a write path that ignores the tables; this one catches a
 * table that makes a register the spec calls read-only writable. Both compare with the vdev's
 * fresh images.
 */
import type { VdevMode } from '../../src/vidxd/index.js';
import { BAR0_BYTES, CONFIG_BYTES, type FuzzGuest } from './guest.js';
import { hex } from './stats.js';
import { Violation } from './violation.js';

/** Clears `bits` of dword `offset / 4` in `mask` (those bits may change). */
function free(mask: Uint32Array, offset: number, bits: number): void {
  const d = offset >>> 2;
  mask[d] = ((mask[d] as number) & ~(bits >>> 0)) >>> 0;
}

/**
 * BAR0 (§4, §6): everything is constant but GENCFG (RW while disabled), GENCTRL bits 1:0, GENSTS,
 * INTCAUSE, CMD, CMDSTS and SWERR (status), MSIX_PERM pasid_en (bit 3) and pasid (31:12) of each low
 * dword, WQCFG pasid/priv (and pasid_en on a dedicated vdev) and its live occupancy and state, the
 * MSI-X table's address, data and vector-control mask bit, and the PBA. Reserved space reads 0.
 */
export function bar0ConstantMask(mode: VdevMode, vectors: number): Uint32Array {
  const m = new Uint32Array(BAR0_BYTES >>> 2).fill(0xffffffff);
  free(m, 0x80, 0xffffffff);
  free(m, 0x88, 0x3);
  for (const o of [0x90, 0x98, 0xa0, 0xa8]) free(m, o, 0xffffffff);
  for (let o = 0xc0; o < 0xe0; o += 4) free(m, o, 0xffffffff);
  for (let v = 0; v < vectors; v++) free(m, 0x300 + 8 * v, 0xfffff008);
  free(m, 0x508, 0x0fffff00 | (mode === 'dedicated' ? 1 << 28 : 0) | (1 << 29));
  free(m, 0x518, 0xc000ffff);
  for (let v = 0; v < vectors; v++) {
    for (let k = 0; k < 12; k += 4) free(m, 0x600 + 16 * v + k, 0xffffffff);
    free(m, 0x600 + 16 * v + 12, 0x1);
  }
  free(m, 0x700, 0xffffffff);
  free(m, 0x704, 0xffffffff);
  return m;
}

/**
 * Config space (§3.1, §3.2): constant but the command register's MEM, BME, SERR and INTx-disable
 * bits, the status register's RW1C error bits, cache line size, the BAR address bits above 8 KiB,
 * interrupt line, MSI-X enable and function mask, the PCIe control/status registers (their writable
 * fields follow the PCIe specification), ATS enable and STU, PRI enable/reset, its RW1C status bits
 * and stopped bit, the PRI outstanding-request allocation (RW in the PCIe specification; the vdev
 * spec is silent on it), and PASID enable and privileged-mode enable.
 */
export function configConstantMask(): Uint32Array {
  const m = new Uint32Array(CONFIG_BYTES >>> 2).fill(0xffffffff);
  free(m, 0x04, 0x0506 | (0xf900 << 16));
  free(m, 0x0c, 0xff);
  free(m, 0x10, 0xffffe000);
  free(m, 0x14, 0xffffffff);
  free(m, 0x18, 0xffffe000);
  free(m, 0x1c, 0xffffffff);
  free(m, 0x3c, 0xff);
  free(m, 0x40, 0xc000 << 16);
  for (const o of [0x58, 0x60, 0x78, 0x80]) free(m, o, 0xffffffff);
  free(m, 0x104, (0x8000 | 0x1f) << 16);
  free(m, 0x114, 0x3 | (0x103 << 16));
  free(m, 0x11c, 0xffffffff);
  free(m, 0x124, 0x5 << 16);
  return m;
}

/** Dwords of BAR0 served from the MSI-X capability (table at 0x600, PBA at 0x700). */
const WINDOW_FIRST = 0x600 >>> 2;
const WINDOW_END = 0x708 >>> 2;

/** Scratch copy of a config space (one read instead of a thousand; words in host order, little-endian like the masks on every host Node runs on). */
const configNow = new Uint8Array(CONFIG_BYTES);
const configWords = new Uint32Array(configNow.buffer);

/** The vdev's constant bits (per the spec masks) still equal its fresh images; read without side effects. */
export function checkSpecConstants(g: FuzzGuest, bar0Mask: Uint32Array, configMask: Uint32Array): void {
  const fresh0 = new Uint32Array(g.freshBar0.buffer);
  const regs = g.vdev.regs;
  const value = regs.value;
  for (let d = 0; d < bar0Mask.length; d++) {
    const mask = bar0Mask[d] as number;
    // The MSI-X table and PBA live in the capability, not in the register file's storage.
    const now = d >= WINDOW_FIRST && d < WINDOW_END ? regs.read(d * 4, 4) : (value[d] as number);
    const want = fresh0[d] as number;
    if (((now ^ want) & mask) !== 0) {
      throw new Violation('read-only', `vdev #${g.id}: BAR0 ${hex(d * 4, 3)} reads ${hex(now, 8)}; bits ${hex(mask, 8)} are read-only in the spec and were ${hex(want & mask, 8)}`);
    }
  }
  const freshC = new Uint32Array(g.freshConfig.buffer);
  g.vdev.pci.config.readInto(0, configNow);
  for (let d = 0; d < configMask.length; d++) {
    const mask = configMask[d] as number;
    const now = configWords[d] as number;
    const want = freshC[d] as number;
    if (((now ^ want) & mask) !== 0) {
      throw new Violation('read-only', `vdev #${g.id}: config ${hex(d * 4, 3)} reads ${hex(now, 8)}; bits ${hex(mask, 8)} are read-only in the spec and were ${hex(want & mask, 8)}`);
    }
  }
}
