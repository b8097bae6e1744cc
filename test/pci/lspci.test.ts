import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PcieCapability, PcieDeviceType, PciFunctionBuilder, PowerManagementCapability, VendorCapability, formatLspciDump,
} from '../../src/pci/index.js';
import { HAS_LSPCI } from '../util/system-tools.js';
import { specFunction } from './fixtures.js';

/** The verdict strings of docs/spec/lspci-dump.md: none may appear for a well-formed dump. */
const VERDICTS = ['<chain looped>', '<chain broken>', '<access denied>', 'Extended Capability ID 0x', 'Capability ID 0x'];

let dir = '';
let files = 0;

/** Runs the real lspci on `dump` with `args`; stdout only (it may warn about kmod on stderr). */
function lspci(dump: string, ...args: string[]): string {
  const file = join(dir, `dump${files++}.txt`);
  writeFileSync(file, dump);
  return execFileSync('lspci', ['-F', file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

function expectNoVerdict(out: string): void {
  for (const v of VERDICTS) expect(out, `lspci printed "${v}"`).not.toContain(v);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vidxd-lspci-'));
});

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('the dump format', () => {
  it('prints a header line with a space after the BDF, 16 bytes a line and 2/3-digit offsets', () => {
    const lines = specFunction().fn.toLspciDump('00:01.0', 'title').split('\n');
    expect(lines[0]).toBe('00:01.0 title');
    expect(lines[1]).toBe('00: 86 80 25 0b 00 00 10 00 00 00 80 08 00 00 00 00');
    expect(lines[16]).toMatch(/^f0: /);
    expect(lines[17]).toBe('100: 0f 00 01 11 21 00 00 00 00 00 00 00 00 00 00 00');
    expect(lines[256]).toMatch(/^ff0: (00 ){15}00$/);
    expect(lines.length).toBe(1 + 256 + 2); // ends with a blank line, as lspci -xxxx does
    expect(lines.slice(-2)).toEqual(['', '']);
  });

  it('prints 256 bytes for a conventional function', () => {
    const fn = new PciFunctionBuilder({ vendorId: 1, deviceId: 2, classCode: 0, configSize: 256 }).build();
    expect(fn.toLspciDump().split('\n').length).toBe(1 + 16 + 2);
  });

  it('refuses a malformed BDF or a multi-line title', () => {
    const image = new Uint8Array(256);
    expect(() => formatLspciDump(image, '0:1.0', 'x')).toThrow(/bus:device.function/);
    expect(() => formatLspciDump(image, '00:20.0', 'x')).toThrow(/bus:device.function/);
    expect(() => formatLspciDump(image, '00:01.0', 'a\nb')).toThrow(/single line/);
    expect(formatLspciDump(image, '0000:3a:1f.7', 'x').startsWith('0000:3a:1f.7 x\n')).toBe(true);
  });
});

describe.runIf(HAS_LSPCI)('the real lspci', () => {
  it('decodes every capability of the sample function with the expected fields and no verdict', () => {
    const out = lspci(specFunction({ withPm: true }).fn.toLspciDump('00:01.0'), '-vvv', '-nn');
    expectNoVerdict(out);
    expect(out).toContain('00:01.0 System peripheral [0880]');
    expect(out).toContain('[8086:0b25]');
    expect(out).toContain('Region 0: Memory at <unassigned> (64-bit, prefetchable)');
    expect(out).toContain('Region 2: Memory at <unassigned> (64-bit, prefetchable)');
    expect(out).toContain('Capabilities: [40] MSI-X: Enable- Count=2 Masked-');
    expect(out).toContain('Vector table: BAR=0 offset=00000600');
    expect(out).toContain('PBA: BAR=0 offset=00000700');
    expect(out).toContain('Capabilities: [50] Express (v2) Root Complex Integrated Endpoint');
    expect(out).toContain('ExtFmt+ EETLPPrefix+, MaxEETLPPrefixes 1');
    expect(out).toContain('ExtTag+ RBE+ FLReset+'); // DevCap: function-level reset capable
    expect(out).toContain('NoSnoop+ FLReset-'); // DevCtl: Initiate FLR reads 0
    expect(out).toContain('DevSta:\tCorrErr- NonFatalErr- FatalErr- UnsupReq-');
    expect(out).toContain('Capabilities: [90] Power Management version 3');
    expect(out).toContain('Status: D0 NoSoftRst+ PME-Enable-');
    expect(out).toContain('Capabilities: [100 v1] Address Translation Service (ATS)');
    expect(out).toContain('ATSCap:\tInvalidate Queue Depth: 01');
    expect(out).toContain('ATSCtl:\tEnable-, Smallest Translation Unit: 00');
    expect(out).toContain('Capabilities: [110 v1] Page Request Interface (PRI)');
    expect(out).toContain('PRISta: RF- UPRGI- Stopped+');
    expect(out).toContain('Page Request Capacity: 00000001, Page Request Allocation: 00000000');
    expect(out).toContain('Capabilities: [120 v1] Process Address Space ID (PASID)');
    expect(out).toContain('PASIDCap: Exec- Priv+, Max PASID Width: 14');
    expect(out).toContain('PASIDCtl: Enable- Exec- Priv-');
  });

  it('shows what a guest enabled', () => {
    const { fn, msix } = specFunction({ withPm: true });
    const c = fn.config;
    c.write(0x04, 2, 0x0006);
    c.write(0x10, 4, 0xfe000000);
    c.write(0x42, 2, 0xc000);
    c.write(0x106, 2, 0x8000);
    c.write(0x114, 2, 1);
    c.write(0x11c, 4, 8);
    c.write(0x126, 2, 5);
    msix.notify(1);
    const out = lspci(fn.toLspciDump('00:01.0'), '-vvv', '-nn');
    expectNoVerdict(out);
    expect(out).toContain('Control: I/O- Mem+ BusMaster+');
    expect(out).toContain('Region 0: Memory at fe000000 (64-bit, prefetchable)');
    expect(out).toContain('MSI-X: Enable+ Count=2 Masked+');
    expect(out).toContain('ATSCtl:\tEnable+');
    expect(out).toContain('PRICtl: Enable+ Reset-');
    expect(out).toContain('PRISta: RF- UPRGI- Stopped-');
    expect(out).toContain('Page Request Allocation: 00000008');
    expect(out).toContain('PASIDCtl: Enable+ Exec- Priv+');
  });

  it('decodes an endpoint with link registers and a vendor-specific capability', () => {
    const fn = new PciFunctionBuilder({ vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000, configSize: 4096 })
      .bar(0, { kind: 'io', size: 32 })
      .bar(1, { kind: 'mem32', size: 0x1000 })
      .rom(0x40000)
      .capability(new PcieCapability({ deviceType: PcieDeviceType.ENDPOINT, link: { speed: 3, width: 4 } }))
      .capability(new PowerManagementCapability({ d1: true, pmeSupport: 0x19 }))
      .capability(new VendorCapability(Uint8Array.of(1, 2, 3, 4, 5)))
      .build();
    // An unassigned 32-bit non-prefetchable BAR and a ROM read 0, which lspci takes for "absent".
    fn.config.write(0x14, 4, 0xfebf0000);
    fn.config.write(0x30, 4, 0xfeb80000);
    const out = lspci(fn.toLspciDump('00:03.0'), '-vvv', '-nn');
    expectNoVerdict(out);
    expect(out).toContain('Express (v2) Endpoint');
    expect(out).toContain('LnkCap:\tPort #0, Speed 8GT/s, Width x4');
    expect(out).toContain('LnkSta:\tSpeed 8GT/s');
    expect(out).toContain('Region 0: I/O ports at <unassigned>');
    expect(out).toContain('Region 1: Memory at febf0000 (32-bit, non-prefetchable) [disabled]');
    expect(out).toContain('Expansion ROM at feb80000 [disabled]');
    expect(out).toContain('Flags: PMEClk- DSI- D1+ D2- AuxCurrent=0mA PME(D0+,D1-,D2-,D3hot+,D3cold+)');
    expect(out).toContain('Vendor Specific Information: Len=08');
  });

  it('decodes the standard capabilities of a 256-byte dump and does not walk extended ones', () => {
    const fn = new PciFunctionBuilder({ vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000, configSize: 256 })
      .capability(new PcieCapability())
      .build();
    const out = lspci(fn.toLspciDump('00:04.0'), '-vvv', '-nn');
    expectNoVerdict(out);
    expect(out).toContain('Express (v2) Endpoint');
    expect(out).not.toContain('Capabilities: [100');
  });

  it('reprints the dump byte for byte with -xxxx', () => {
    const { fn, msix } = specFunction({ withPm: true });
    fn.config.write(0x42, 2, 0x8000);
    msix.notify(0);
    const dump = fn.toLspciDump('00:01.0');
    const out = lspci(dump, '-xxxx');
    const [ours, ...ourData] = dump.split('\n');
    const [theirs, ...theirData] = out.split('\n');
    expect(theirs?.startsWith('00:01.0 ')).toBe(true); // the title is lspci's own name for the device
    expect(ours?.startsWith('00:01.0 ')).toBe(true);
    expect(theirData.join('\n')).toBe(ourData.join('\n'));
  });
});
