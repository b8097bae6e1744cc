import { describe, expect, it } from 'vitest';
import { capsFromRegisters, DEFAULT_ENGINE_CAPS, DEFAULT_OPCAP, opcapHas, SPR_GENCAP_HI, SPR_GENCAP_LO } from '../../src/dsa/index.js';

describe('engine capabilities (§14)', () => {
  it('decodes the Sapphire Rapids GENCAP 0x00000040_915F0107 into the default profile', () => {
    const caps = capsFromRegisters(SPR_GENCAP_LO, SPR_GENCAP_HI, DEFAULT_OPCAP);
    expect(caps).toEqual(DEFAULT_ENGINE_CAPS);
    expect([caps.blockOnFault, caps.overlapCopy, caps.cacheControl, caps.destinationReadback]).toEqual([true, true, true, true]);
    expect([caps.durableWrite, caps.drainReadback, caps.fill16, caps.crc64, caps.crFaultInfo, caps.batchContinuation, caps.batch1]).toEqual([false, false, false, false, false, false, false]);
    expect([caps.maxTransferShift, caps.maxBatchShift]).toEqual([31, 10]);
  });

  it('decodes high GENCAP bits (Batch1 is bit 52) and OPCAP bits', () => {
    const caps = capsFromRegisters(1 << 15, 1 << 20, [0x1, 0x1]);
    expect([caps.batchContinuation, caps.batch1, caps.blockOnFault]).toEqual([true, true, false]);
    expect([opcapHas(caps, 0x00), opcapHas(caps, 0x03), opcapHas(caps, 0x20), opcapHas(caps, 0x40)]).toEqual([true, false, true, false]);
  });

  it('enables opcodes 0x00–0x09, 0x10–0x15 and 0x20 by default', () => {
    const on = [...Array(64).keys()].filter((o) => opcapHas(DEFAULT_ENGINE_CAPS, o));
    expect(on).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x20]);
  });
});
