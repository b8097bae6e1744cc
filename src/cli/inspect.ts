/**
 * `vidxd lspci` and `vidxd regs`: what a VMM (or a guest) reads from a device through the VFIO API —
 * the 4 KiB config space in the text form `lspci -F` decodes, and the BAR0 register map with the
 * values read through the BAR0 region, decoded with the device's own register tables.
 */
import { type BlockDef, type FieldDef, type RegisterDef, type RegisterFile, unpackField } from '../dsa/index.js';
import { IdxdGuest } from '../guest/index.js';
import { formatLspciDump } from '../pci/index.js';
import { VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX, type VfioDevice } from '../vfio/index.js';
import { type DeviceType, type InspectedDevice, inspectDevice } from './system.js';

/** Opens a device of `type`, brought up by the reference driver when `enabled`. */
async function open(type: DeviceType, enabled: boolean): Promise<InspectedDevice> {
  const d = inspectDevice(type);
  // On the PF the reference driver configures WQ 0 itself (the PF is configurable).
  if (enabled) await IdxdGuest.open({ device: d.device, memory: d.memory, poll: d.poll });
  return d;
}

/** Reads `size` bytes of region `index` in dword reads (the access a driver makes). */
function readDwords(dev: VfioDevice<unknown>, index: number, offset: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let o = 0; o < size; o += 4) dev.readRegion(index, offset + o, out.subarray(o, o + 4));
  return out;
}

/** The lspci dump of a device of `type`. */
export async function lspciText(type: DeviceType, enabled: boolean): Promise<string> {
  const d = await open(type, enabled);
  return configDump(d.device, '00:01.0', `System peripheral: vidxd ${type}${enabled ? ' (enabled)' : ' (reset state)'}`, false);
}

/**
 * The config space of `device`, read through its VFIO config region in dword reads, as `lspci -xxxx`
 * prints it at `bdf` under `title`. With `trim`, the dump stops after the last 16-byte line holding a
 * non-zero byte (at least 64 bytes): lspci decodes it exactly as the whole 4 KiB, since it reads
 * nothing past the end of the last capability, and a report can show it in 20 lines instead of 256.
 */
export function configDump(device: VfioDevice<unknown>, bdf: string, title: string, trim: boolean): string {
  const image = readDwords(device, VFIO_PCI_CONFIG_REGION_INDEX, 0, 0x1000);
  let end = image.length;
  if (trim) {
    while (end > 64 && image.subarray(end - 16, end).every((b) => b === 0)) end -= 16;
  }
  return formatLspciDump(image.subarray(0, end), bdf, title);
}

const hex = (n: number, digits: number): string => `0x${n.toString(16).padStart(digits, '0')}`;

function fieldValue(f: FieldDef, dwords: Uint32Array): string {
  const first = f.lo >>> 5;
  if (f.width > 32) {
    const parts: string[] = [];
    for (let k = (f.width >>> 5) - 1; k >= 0; k--) parts.push((dwords[first + k] ?? 0).toString(16).padStart(8, '0'));
    return `0x${parts.join('_')}`;
  }
  const v = unpackField(dwords, f);
  return f.width === 1 ? String(v) : hex(v, 1);
}

function registerLines(reg: RegisterDef, at: number, dwords: Uint32Array): string[] {
  const value = [...dwords].reverse().map((d) => d.toString(16).padStart(8, '0')).join('_');
  const out = [`${hex(at, 4)}  ${String(reg.size).padStart(2)}  ${reg.name.padEnd(11)} 0x${value}`];
  for (const f of reg.fieldList) {
    const bits = f.width === 1 ? `${f.lo}` : `${f.lo + f.width - 1}:${f.lo}`;
    out.push(`${' '.repeat(14)}${`${f.name} [${bits}]`.padEnd(26)} = ${fieldValue(f, dwords).padEnd(12)} ${f.access.padEnd(4)} ${f.doc}`);
  }
  return out;
}

/** Instances of a block listed without `--all`: every one up to this many, else the first two. */
const INSTANCE_LIMIT = 16;

function blockLines(dev: VfioDevice<unknown>, b: BlockDef, regs: RegisterFile, all: boolean): string[] {
  const { base, count: n } = regs.placement(b);
  if (n === 0) return [];
  const out = [`${b.name} — ${b.doc}${n > 1 ? ` (${n} × ${b.instance})` : ''}`];
  const shown = all || n <= INSTANCE_LIMIT ? n : 2;
  for (let i = 0; i < shown; i++) {
    if (n > 1) out.push(`  ${b.instance} ${i}`);
    for (const r of b.registers) {
      const at = base + i * b.stride + r.offset;
      const bytes = readDwords(dev, VFIO_PCI_BAR0_REGION_INDEX, at, r.size);
      out.push(...registerLines(r, at, new Uint32Array(bytes.buffer)));
    }
  }
  if (shown < n) out.push(`  … ${n - shown} more, up to ${b.instance} ${n - 1} (--all lists every one)`);
  return out;
}

/** The BAR0 register map of a device of `type`. */
export async function regsText(type: DeviceType, enabled: boolean, all: boolean): Promise<string> {
  // A PF opens with memory decode on, as vfio-pci opens a device: its BAR0 answers at once.
  const d = await open(type, enabled);
  const lines = [
    `BAR0 of a ${type === 'pf' ? 'DSA PF (whole-function pass-through)' : `${type} vdev`}${enabled ? ' brought up by the reference driver' : ' at reset'}, read through the VFIO BAR0 region`,
    'offset  size register    value (high dword first); then each field: name [bits] = value, access, meaning',
    '',
  ];
  for (const b of d.blocks) {
    const block = blockLines(d.device, b, d.regs, all);
    if (block.length > 0) lines.push(...block, '');
  }
  return lines.join('\n');
}
