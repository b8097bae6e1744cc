/**
 * The JavaScript CRC-32C path, forced with `VIDXD_CRC=js`: the CRC check-value tests
 * (crc-algorithms.test.ts) and the engine's CRCGEN/COPY_CRC tests (engine-crc.test.ts) run again here
 * with the addon out of the picture, so both paths are tested in every run (their own files run with
 * the addon when it is built).
 */
import { afterAll, describe, expect, it, vi } from 'vitest';

// Before any import evaluates src/dsa/engine/crc32c.ts (which reads the variable once, at load).
const saved = vi.hoisted(() => {
  const before = process.env['VIDXD_CRC'];
  process.env['VIDXD_CRC'] = 'js';
  return before;
});

import { CRC32C_IMPLEMENTATION } from '../../src/dsa/index.js';
import './crc-algorithms.test.js';
import './engine-crc.test.js';

afterAll(() => {
  if (saved === undefined) delete process.env['VIDXD_CRC'];
  else process.env['VIDXD_CRC'] = saved;
});

describe('VIDXD_CRC=js', () => {
  it('makes the engine compute CRC-32C in JavaScript, and says why', () => {
    expect(CRC32C_IMPLEMENTATION).toEqual({ path: 'js', impl: 'slice-by-16', reason: 'VIDXD_CRC=js' });
  });
});
