import { describe, expect, it } from 'vitest';
import { ConfigSpace, OWNER_FIRST_CAPABILITY, OWNER_HEADER, type ConfigWriteObserver } from '../../src/pci/index.js';

/** A 256-byte space: 0x40..0x43 writable, 0x44..0x45 RW1C (set), 0x46..0x47 read-only 0xAB. */
function space(): ConfigSpace {
  const s = new ConfigSpace(256);
  s.init(0x40, 4, 0x11223344, 0xffffffff);
  s.init(0x44, 2, 0xffff, 0, 0xffff);
  s.init(0x46, 2, 0xabab);
  return s;
}

class Recorder implements ConfigWriteObserver {
  readonly calls: string[] = [];
  afterWrite(owner: number, offset: number, size: number, oldValue: number): void {
    this.calls.push(`${owner}@${offset.toString(16)}/${size}=${oldValue.toString(16)}`);
  }
}

describe('config space write rule', () => {
  it('changes writable bits, clears RW1C bits on ones and keeps read-only bits', () => {
    const s = space();
    s.write(0x40, 4, 0xdeadbeef);
    s.write(0x44, 4, 0x00ff00f0);
    expect(s.read(0x40, 4)).toBe(0xdeadbeef);
    expect(s.read(0x44, 2)).toBe(0xff0f);
    expect(s.read(0x46, 2)).toBe(0xabab);
  });

  it('refuses a bit that is both writable and RW1C when building', () => {
    expect(() => new ConfigSpace(256).init(0x40, 2, 0, 0x0101, 0x0100)).toThrow(/both writable and RW1C/);
  });

  it('refuses a size other than 256 or 4096', () => {
    expect(() => new ConfigSpace(512 as 256)).toThrow(/256 or 4096/);
  });

  it('lets the device model poke, set and clear bits past the masks', () => {
    const s = space();
    s.poke(0x46, 2, 0x1234);
    expect(s.read(0x46, 2)).toBe(0x1234);
    s.clearBits(0x44, 2, 0x00ff);
    s.setBits(0x46, 1, 0x80);
    expect(s.read(0x44, 4)).toBe(0x12b4ff00);
    s.reset();
    expect(s.read(0x44, 4)).toBe(0xababffff);
  });
});

describe('config space accesses', () => {
  it('serves 1, 2 and 4 bytes at unaligned offsets, little-endian', () => {
    const s = space();
    expect(s.read(0x41, 2)).toBe(0x2233);
    expect(s.read(0x43, 4)).toBe(0xabffff11);
    s.write(0x41, 4, 0xaabbccdd); // bytes 0x41..0x44; 0x44 is RW1C
    expect(s.read(0x40, 4)).toBe(0xbbccdd44);
    expect(s.read(0x44, 1)).toBe(0x55); // 0xff & ~0xaa
  });

  it('reads 0 and ignores writes out of range or with a bad size', () => {
    const s = space();
    expect(s.read(0x100, 4)).toBe(0);
    expect(s.read(-1, 1)).toBe(0);
    expect(s.read(0x40, 3)).toBe(0);
    expect(s.read(0xfe, 4)).toBe(0); // two bytes in range (both 0), two beyond
    s.write(0x40, 3, 0);
    s.write(0x40, 8, 0);
    s.write(-4, 4, 0);
    s.write(0x1000, 4, 0);
    expect(s.read(0x40, 4)).toBe(0x11223344);
  });

  it('splits accesses into naturally aligned pieces within one owner', () => {
    const s = new ConfigSpace(256);
    s.claim(0, 0x40, OWNER_HEADER);
    s.claim(0x40, 6, OWNER_FIRST_CAPABILITY);
    s.claim(0x46, 2, OWNER_FIRST_CAPABILITY + 1);
    const r = new Recorder();
    s.setObserver(r);
    s.write(0x3d, 4, 0); // 0x3d..0x40: header 1 + header 2, then capability 1
    s.write(0x44, 4, 0); // aligned dword crossing two capabilities
    s.write(0x41, 2, 0); // unaligned word: two bytes
    s.write(0x48, 4, 0); // nobody owns it: no call
    expect(r.calls).toEqual([
      '1@3d/1=0', '1@3e/2=0', '2@40/1=0',
      '2@44/2=0', '3@46/2=0',
      '2@41/1=0', '2@42/1=0',
    ]);
  });

  it('passes the old value of each piece to the observer', () => {
    const s = space();
    s.claim(0x40, 8, OWNER_FIRST_CAPABILITY);
    const r = new Recorder();
    s.setObserver(r);
    s.write(0x40, 4, 0);
    expect(r.calls).toEqual(['2@40/4=11223344']);
    expect(() => s.setObserver(r)).toThrow(/already/);
  });

  it('refuses to give bytes two owners', () => {
    const s = new ConfigSpace(256);
    s.claim(0x40, 8, OWNER_FIRST_CAPABILITY);
    expect(() => s.claim(0x44, 8, OWNER_FIRST_CAPABILITY + 1)).toThrow(/already owned/);
  });

  it('copies buffers and reports how many bytes were served', () => {
    const s = space();
    const dst = new Uint8Array(8).fill(0x99);
    expect(s.readInto(0xfc, dst)).toBe(4);
    expect([...dst]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(s.readInto(0x300, dst)).toBe(0);
    const src = Uint8Array.of(1, 2, 3, 4, 0x0f, 0, 0xff, 0xff, 7);
    expect(s.writeFrom(0x40, src)).toBe(9);
    expect(s.read(0x40, 4)).toBe(0x04030201);
    expect(s.read(0x44, 4)).toBe(0xababfff0);
    expect(s.writeFrom(0xfe, src)).toBe(2);
    expect(s.writeFrom(0x100, src)).toBe(0);
    const back = new Uint8Array(4);
    expect(s.readInto(0x41, back)).toBe(4);
    expect([...back]).toEqual([2, 3, 4, 0xf0]);
  });

  it('splits buffer writes like single accesses', () => {
    const s = new ConfigSpace(256);
    s.claim(0x40, 3, OWNER_FIRST_CAPABILITY);
    const r = new Recorder();
    s.setObserver(r);
    s.writeFrom(0x3f, new Uint8Array(7));
    expect(r.calls).toEqual(['2@40/2=0', '2@42/1=0']);
  });
});
