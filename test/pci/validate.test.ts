import { describe, expect, it } from 'vitest';
import { validateCapabilityChains } from '../../src/pci/index.js';
import { specFunction } from './fixtures.js';

/** The spec function's bytes, to corrupt. */
function image(): Uint8Array {
  const { fn } = specFunction({ withPm: true });
  const bytes = new Uint8Array(4096);
  fn.config.readInto(0, bytes);
  return bytes;
}

function put32(bytes: Uint8Array, off: number, v: number): void {
  new DataView(bytes.buffer).setUint32(off, v, true);
}

describe('capability chain validator', () => {
  it('finds nothing wrong with a built function', () => {
    expect(validateCapabilityChains(image())).toEqual([]);
  });

  it('reports a standard chain that loops', () => {
    const b = image();
    b[0x91] = 0x40; // PM's next points back to MSI-X
    expect(validateCapabilityChains(b)).toEqual([expect.stringMatching(/standard capability chain loops.*0x40/)]);
  });

  it('reports a pointer into the header', () => {
    const b = image();
    b[0x41] = 0x20;
    expect(validateCapabilityChains(b)).toEqual([expect.stringMatching(/points into the header \(0x20 < 0x40\)/)]);
  });

  it('reports a misaligned pointer', () => {
    const b = image();
    b[0x34] = 0x41;
    expect(validateCapabilityChains(b)).toContainEqual(expect.stringMatching(/0x41, which is not dword-aligned/));
  });

  it('reports an extended chain that loops, points below 0x100 or is misaligned', () => {
    const loop = image();
    put32(loop, 0x120, 0x1001001b); // PASID next -> 0x100
    expect(validateCapabilityChains(loop)).toEqual([expect.stringMatching(/extended capability chain loops.*0x100/)]);
    const low = image();
    put32(low, 0x120, 0x0801001b); // next -> 0x80
    expect(validateCapabilityChains(low)).toEqual([expect.stringMatching(/points below 0x100 \(0x80\)/)]);
    const odd = image();
    put32(odd, 0x110, 0x12210013); // PRI next -> 0x122
    expect(validateCapabilityChains(odd)).toContainEqual(expect.stringMatching(/0x122, which is not dword-aligned/));
  });

  it('reports overlapping capabilities in either chain', () => {
    const std = image();
    std[0x41] = 0x44; // MSI-X (12 bytes at 0x40) -> a capability at 0x44
    std[0x44] = 0x01;
    std[0x45] = 0x00;
    expect(validateCapabilityChains(std)).toContainEqual(expect.stringMatching(/0x11 at 0x40 overlaps standard capability 0x1 at 0x44/));
    const ext = image();
    put32(ext, 0x100, 0x1041000f); // ATS next -> 0x104, inside ATS
    put32(ext, 0x104, 0x0001001b);
    expect(validateCapabilityChains(ext)).toContainEqual(expect.stringMatching(/0xf at 0x100 overlaps extended capability 0x1b at 0x104/));
  });

  it('reports a broken chain (ID 0xff) and a capability running past its space', () => {
    const broken = image();
    broken[0x50] = 0xff;
    expect(validateCapabilityChains(broken)).toEqual([expect.stringMatching(/ID 0xff/)]);
    const past = image();
    past[0x91] = 0xf8; // -> MSI-X-sized capability at 0xf8
    past[0xf8] = 0x11;
    expect(validateCapabilityChains(past)).toContainEqual(expect.stringMatching(/runs past 0xff/));
  });

  it('walks only the standard chain of a 256-byte image', () => {
    const b = image().slice(0, 256);
    expect(validateCapabilityChains(b)).toEqual([]);
  });
});
