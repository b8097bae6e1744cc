/**
 * The guest's view of the device's config space against `vidxd lspci --type T`: both dumps parsed to
 * 4096 bytes, every differing byte matched against the table of differences a real VMM and guest
 * explain (QEMU virtualizes a register, the firmware or the guest kernel programs it). A differing
 * bit no rule explains is a failure.
 */

/** Parses the hex lines of an `lspci -xxxx` dump (`OFF: xx xx …`) into a 4096-byte image; absent bytes read 0xff. */
export function parseDump(text: string): Uint8Array {
  const image = new Uint8Array(4096).fill(0xff);
  let lines = 0;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{2,3}): ((?:[0-9a-f]{2} ?){1,16})$/.exec(line.trim());
    if (m === null) continue;
    const off = Number.parseInt(m[1] as string, 16);
    const bytes = (m[2] as string).trim().split(' ');
    bytes.forEach((b, i) => {
      image[off + i] = Number.parseInt(b, 16);
    });
    lines++;
  }
  if (lines === 0) throw new Error('no dump lines (OFF: xx xx ...) found');
  return image;
}

/** A capability found by walking a dump's chains. */
export interface CapabilityAt {
  /** Standard (8-bit ID) or extended (16-bit ID). */
  readonly kind: 'standard' | 'extended';
  /** Capability ID. */
  readonly id: number;
  /** Offset of its header. */
  readonly offset: number;
  /** Extended: its version. */
  readonly version: number;
}

/** Walks the standard chain from 0x34 and the extended chain from 0x100 (bounded, loops stop the walk). */
export function capabilities(image: Uint8Array): CapabilityAt[] {
  const out: CapabilityAt[] = [];
  const seen = new Set<number>();
  if (((image[0x06] as number) & 0x10) !== 0) {
    let p = (image[0x34] as number) & 0xfc;
    while (p >= 0x40 && !seen.has(p)) {
      seen.add(p);
      out.push({ kind: 'standard', id: image[p] as number, offset: p, version: 0 });
      p = (image[p + 1] as number) & 0xfc;
    }
  }
  let p = 0x100;
  while (p >= 0x100 && p < 0x1000 && !seen.has(p)) {
    seen.add(p);
    const h = ((image[p] as number) | ((image[p + 1] as number) << 8) | ((image[p + 2] as number) << 16) | ((image[p + 3] as number) << 24)) >>> 0;
    if (h === 0 || h === 0xffffffff) break;
    out.push({ kind: 'extended', id: h & 0xffff, offset: p, version: (h >>> 16) & 0xf });
    p = (h >>> 20) & 0xffc;
  }
  return out;
}

/** The BAR sizes of the device (to know which BAR bits are address bits). */
export interface DeviceFacts {
  /** BAR0 size in bytes. */
  readonly bar0Size: number;
  /** BAR2 size in bytes. */
  readonly bar2Size: number;
}

/** One explained kind of difference: which bits of which bytes may differ, and why. */
export interface Allowance {
  /** Short name, e.g. "command register". */
  readonly name: string;
  /** Why the guest's value differs from the device's reset value. */
  readonly reason: string;
  /** The config offsets (absolute) it covers, with the bit mask allowed to differ in each byte. */
  bits(image: Uint8Array, facts: DeviceFacts): ReadonlyMap<number, number>;
}

const PCI_CAP_ID_EXP = 0x10;

/** Bits of a BAR's low dword (flags in 3:0) and high dword that hold the address of a BAR of `size` bytes. */
function barAddressBits(at: number, size: number): Map<number, number> {
  const lo = (~(size - 1) & 0xfffffff0) >>> 0;
  const m = new Map<number, number>();
  for (let i = 0; i < 4; i++) m.set(at + i, (lo >>> (8 * i)) & 0xff);
  for (let i = 4; i < 8; i++) m.set(at + i, 0xff);
  return m;
}

function capField(image: Uint8Array, id: number, rel: number, masks: readonly number[]): Map<number, number> {
  const cap = capabilities(image).find((c) => c.kind === 'standard' && c.id === id);
  const m = new Map<number, number>();
  if (cap !== undefined) masks.forEach((mask, i) => m.set(cap.offset + rel + i, mask));
  return m;
}

/**
 * Every difference between the guest's `lspci -xxxx` and `vidxd lspci` that a real VMM and guest
 * explain, observed with QEMU 11.1 (q35, SeaBIOS, the device on the root bus) and a Linux 6.12 guest
 * before anything in the guest touched the device. Everything else must be byte-for-byte equal.
 */
export const ALLOWANCES: readonly Allowance[] = [
  {
    name: 'command register: memory decode and SERR# enable',
    reason: 'the firmware (SeaBIOS pci_bios_init_device) writes I/O | memory | SERR# enable after assigning the BARs; '
      + 'the device keeps the two bits it implements (it has no I/O BAR) and resets with both off',
    bits: () => new Map([[0x04, 0x02], [0x05, 0x01]]),
  },
  {
    name: 'BAR0 address',
    reason: 'QEMU emulates the BAR registers and the firmware assigned BAR0 an address (only address bits may differ: the flag bits 3:0 and the size must match)',
    bits: (_i, f) => barAddressBits(0x10, f.bar0Size),
  },
  {
    name: 'BAR2 address',
    reason: 'QEMU emulates the BAR registers and the firmware assigned BAR2 an address (only address bits may differ: the flag bits 3:0 and the size must match)',
    bits: (_i, f) => barAddressBits(0x18, f.bar2Size),
  },
  {
    name: 'PCIe DevCtl: Max_Payload_Size',
    reason: 'the guest kernel programs an RCiEP\'s Max_Payload_Size (DevCtl bits 7:5) to its supported maximum at enumeration (Linux pci_configure_mps)',
    bits: (image) => capField(image, PCI_CAP_ID_EXP, 0x08, [0xe0]),
  },
  {
    name: 'PCIe DevCtl: Extended Tag Field Enable',
    reason: 'the guest kernel sets Extended Tag Field Enable (DevCtl bit 8) when DevCap supports it (Linux pci_configure_extended_tags: "enabling Extended Tags")',
    bits: (image) => capField(image, PCI_CAP_ID_EXP, 0x09, [0x01]),
  },
];

/** One differing byte and what explains it. */
export interface ByteDifference {
  /** Config offset. */
  readonly offset: number;
  /** `vidxd lspci`'s value. */
  readonly expected: number;
  /** The guest's value. */
  readonly actual: number;
  /** The allowance that explains it, or null when nothing does. */
  readonly explainedBy: Allowance | null;
}

/** Compares the guest's image with the device's; every differing byte with its explanation (or none). */
export function compareConfig(expected: Uint8Array, actual: Uint8Array, facts: DeviceFacts): ByteDifference[] {
  const rules = ALLOWANCES.map((a) => ({ a, bits: a.bits(expected, facts) }));
  const out: ByteDifference[] = [];
  for (let off = 0; off < 4096; off++) {
    const e = expected[off] as number;
    const g = actual[off] as number;
    if (e === g) continue;
    const rule = rules.find((r) => ((e ^ g) & ~(r.bits.get(off) ?? 0) & 0xff) === 0);
    out.push({ offset: off, expected: e, actual: g, explainedBy: rule?.a ?? null });
  }
  return out;
}

const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

/** A difference as one line of a report. */
export function describeDifference(d: ByteDifference): string {
  return `0x${hex(d.offset, 3)}: vidxd ${hex(d.expected, 2)} guest ${hex(d.actual, 2)} — ${d.explainedBy === null ? 'UNEXPLAINED' : d.explainedBy.name}`;
}

/** The differences grouped by what explains them: one line per run of adjacent bytes with the same explanation. */
export function differenceReport(diffs: readonly ByteDifference[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < diffs.length;) {
    let j = i + 1;
    const first = diffs[i] as ByteDifference;
    while (j < diffs.length && (diffs[j] as ByteDifference).explainedBy === first.explainedBy && (diffs[j] as ByteDifference).offset === (diffs[j - 1] as ByteDifference).offset + 1) j++;
    const run = diffs.slice(i, j);
    const last = run[run.length - 1] as ByteDifference;
    const where = run.length === 1 ? `0x${hex(first.offset, 3)}` : `0x${hex(first.offset, 3)}–0x${hex(last.offset, 3)}`;
    const bytes = (pick: (d: ByteDifference) => number): string => run.map((d) => hex(pick(d), 2)).join(' ');
    const why = first.explainedBy === null ? 'UNEXPLAINED' : `${first.explainedBy.name} (${first.explainedBy.reason})`;
    out.push(`${where}: vidxd ${bytes((d) => d.expected)} → guest ${bytes((d) => d.actual)} — ${why}`);
    i = j;
  }
  return out;
}

/** What lspci prints inline when a chain or capability is broken (lspci-dump.md, "Reading the verdict"). */
export const VERDICTS = ['<chain looped>', '<chain broken>', '<access denied>', 'Capability ID 0x'];

/** The name lspci -vvv gives each capability the device has. */
export const LSPCI_CAP_NAMES: Readonly<Record<string, string>> = {
  'standard:17': 'MSI-X',
  'standard:16': 'Express (v2) Root Complex Integrated Endpoint',
  'extended:15': 'Address Translation Service (ATS)',
  'extended:19': 'Page Request Interface (PRI)',
  'extended:27': 'Process Address Space ID (PASID)',
};

/** The "Capabilities: [off] Name" header lspci prints for `c`. */
export function capabilityHeader(c: CapabilityAt): string {
  const name = LSPCI_CAP_NAMES[`${c.kind}:${c.id}`] ?? `unknown ${c.kind} capability 0x${c.id.toString(16)}`;
  return c.kind === 'standard' ? `Capabilities: [${c.offset.toString(16)}] ${name}` : `Capabilities: [${c.offset.toString(16)} v${c.version}] ${name}`;
}
