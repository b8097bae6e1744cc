/**
 * The checks a boot is judged by, registered as vitest tests inside a `describe` that booted the VM:
 * enumeration (issue 15 check 1) and the guest driver's workload (checks 2 and 3).
 */
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { inspectDevice } from '../../src/cli/system.js';
import { VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_BAR2_REGION_INDEX } from '../../src/vfio/index.js';
import {
  capabilities, capabilityHeader, compareConfig, type DeviceFacts, describeDifference, differenceReport, parseDump, VERDICTS,
} from './config-diff.js';
import { failureContext, guestResult, REPO_CLI, type Server, type VmRun } from './rig.js';

/** The device types a VM can be given. */
export type VmType = 'dsa-1dwq-v1' | 'dsa-1swq-v1' | 'pf';

/** The boot a group of tests judges (filled in by the describe's beforeAll). */
export interface Booted {
  /** The VM, once it ran. */
  vm?: VmRun;
  /** The server it was attached to. */
  server?: Server;
}

const expectedDumps = new Map<VmType, string>();

/** `vidxd lspci --type T` of this repository's build. */
export function vidxdLspci(type: VmType): string {
  let text = expectedDumps.get(type);
  if (text === undefined) {
    text = execFileSync(process.execPath, [REPO_CLI, 'lspci', '--type', type], { encoding: 'utf8' });
    expectedDumps.set(type, text);
  }
  return text;
}

function facts(type: VmType): DeviceFacts {
  const d = inspectDevice(type).device;
  return { bar0Size: d.getRegionInfo(VFIO_PCI_BAR0_REGION_INDEX).size, bar2Size: d.getRegionInfo(VFIO_PCI_BAR2_REGION_INDEX).size };
}

function block(b: Booted, name: string): string {
  const text = b.vm?.blocks.get(name);
  if (text === undefined) throw new Error(`the guest printed no ${name} block\n${failureContext(b.vm, b.server)}`);
  return text;
}

/** Check 1: what the guest's PCI core and lspci see, against `vidxd lspci --type T`. */
export function enumerationTests(b: Booted, type: VmType): void {
  it('enumeration: the guest\'s PCI core finds the 8086:0b25 function', () => {
    guestResult(b.vm, b.server, 'device-present');
  });

  it('enumeration: lspci -vvv decodes MSI-X, PCI Express (RCiEP), ATS, PRI and PASID, with no verdict string', () => {
    const text = block(b, 'lspci-vvv');
    const caps = capabilities(parseDump(vidxdLspci(type)));
    const missing = caps.map(capabilityHeader).filter((h) => !text.includes(h));
    const verdicts = VERDICTS.filter((v) => text.includes(v));
    expect({ missing, verdicts }, `guest lspci -vvv:\n${text}`).toEqual({ missing: [], verdicts: [] });
    expect(caps.map((c) => `${c.kind}:${c.id}`).sort()).toEqual(['extended:15', 'extended:19', 'extended:27', 'standard:16', 'standard:17']);
  });

  it('enumeration: PCIe DevCap advertises function-level reset (lspci: FLReset+)', () => {
    const text = block(b, 'lspci-vvv');
    const devcap = /DevCap:[^\n]*\n[^\n]*/.exec(text)?.[0] ?? '(no DevCap line)';
    expect(devcap, 'vidxd-device.md §3.2: DevCap bit 28 (function-level reset capable)').toContain('FLReset+');
  });

  it('enumeration: lspci -xxxx equals vidxd lspci except the bytes QEMU virtualizes or firmware and kernel program', () => {
    const guest = parseDump(block(b, 'lspci-xxxx'));
    const expected = parseDump(vidxdLspci(type));
    const diffs = compareConfig(expected, guest, facts(type));
    console.log(`${type}: ${diffs.length} config bytes differ between the guest's lspci -xxxx and vidxd lspci --type ${type}:\n${differenceReport(diffs).map((l) => `  ${l}`).join('\n')}`);
    const unexplained = diffs.filter((d) => d.explainedBy === null).map(describeDifference);
    expect(unexplained, `guest lspci -xxxx:\n${block(b, 'lspci-xxxx')}`).toEqual([]);
  });
}

/** The guest program's results, with what each proves. */
const WORKLOAD: ReadonlyArray<readonly [string, string]> = [
  ['open', 'maps BAR0 and BAR2 (sysfs resource files, or through vfio-pci)'],
  ['dma-memory', 'takes DMA memory whose bus address it knows (huge page + pagemap, or VFIO_IOMMU_MAP_DMA)'],
  ['bus-master', 'sets memory decode and bus mastering in the command register'],
  ['bringup', 'resets and enables the device and its WQ through BAR0 (a PF: GRPCFG and WQCFG first)'],
  ['int-handle', 'gets the interrupt handle of vector 1'],
  ['memmove', 'MEMMOVE through the portal (8-byte stores): destination equals source'],
  ['fill', 'FILL writes exactly its 8-byte pattern and nothing past the end'],
  ['crcgen', 'CRCGEN equals the guest\'s own CRC-32C'],
  ['compare-equal', 'COMPARE of equal buffers: result 0'],
  ['compare-differ', 'COMPARE reports the first difference at its exact offset'],
  ['fault-source', 'a source outside guest memory completes with status 0x03 and the fault address'],
  ['fault-destination', 'a destination outside guest memory completes with status 0x83'],
  ['faults-not-in-swerr', 'page faults reported in a completion record leave SWERR clear'],
  ['misaligned-record', 'a misaligned completion record: no record, no data, SWERR 0x1B, cleared by RW1C'],
  ['isolation', 'guest memory the device was never given is untouched'],
  ['reset', 'RESET_DEVICE returns the device to Disabled'],
];

const INTERRUPTS: ReadonlyArray<readonly [string, string]> = [
  ['irq-setup', 'vfio-pci enables MSI-X with an eventfd per vector'],
  ['irq-software-error', 'the misaligned record raises vector 0 with INTCAUSE.software_error'],
  ['irq-completion', 'a descriptor with RCI raises vector 1 after its record (eventfd and /proc/interrupts)'],
  ['irq-command', 'a command with CMD.int_req raises vector 0 with INTCAUSE.command_completion'],
];

/** Checks 2 and 3: the guest driver's results, one test each; `interrupts` adds the MSI-X checks. */
export function workloadTests(b: Booted, interrupts: boolean): void {
  const list = interrupts ? [...WORKLOAD.slice(0, 2), ...INTERRUPTS.slice(0, 1), ...WORKLOAD.slice(2), ...INTERRUPTS.slice(1)] : WORKLOAD;
  for (const [name, what] of list) {
    it(`guest driver: ${name} — ${what}`, () => {
      guestResult(b.vm, b.server, name);
    });
  }
  it('guest driver: no other check failed, and the VM powered itself off', () => {
    const known = new Set(list.map(([n]) => n));
    const others = [...(b.vm?.results.values() ?? [])].filter((r) => !r.pass && !known.has(r.name)).map((r) => `${r.name}: ${r.detail}`);
    expect(others, failureContext(b.vm, b.server)).toEqual([]);
    expect({ timedOut: b.vm?.timedOut, exit: b.vm?.exitCode }, failureContext(b.vm, b.server)).toEqual({ timedOut: false, exit: 0 });
  });
}

/**
 * How the server reached guest memory, from its log: plain mode maps guest RAM "by messages"
 * (DMA_READ/DMA_WRITE), fd mode maps it "shared by fd" (QEMU's memfd, mapped into the server).
 */
export function transportTests(b: Booted, transport: 'plain' | 'fd'): void {
  const want = transport === 'fd' ? 'shared by fd' : 'by messages';
  it(`vidxd serve listened in ${transport === 'fd' ? 'fd' : 'no-fd'} mode and reached guest RAM ${want}`, () => {
    const log = b.server?.log ?? [];
    const modes = log.flatMap((l) => /listening on \S+ \(([a-z-]+) mode/.exec(l)?.[1] ?? []);
    const rw = log.filter((l) => /DMA map \[0x[0-9a-f]+, \+0x[0-9a-f]+\) RW /.test(l));
    expect(modes.length, failureContext(b.vm, b.server)).toBeGreaterThan(0);
    expect([...new Set(modes)], failureContext(b.vm, b.server)).toEqual([transport === 'fd' ? 'fd' : 'no-fd']);
    expect(rw.length, failureContext(b.vm, b.server)).toBeGreaterThan(0);
    expect(rw.filter((l) => !l.includes(want)), failureContext(b.vm, b.server)).toEqual([]);
  });
}
