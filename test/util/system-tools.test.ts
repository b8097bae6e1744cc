import { describe, expect, it } from 'vitest';
import { isCi, LSPCI_MISSING } from './system-tools.js';

describe('system tools the tests need', () => {
  it('treats CI as set unless it is absent, empty, "false" or "0"', () => {
    expect([undefined, '', 'false', '0'].map((v) => isCi(v === undefined ? {} : { CI: v }))).toEqual([false, false, false, false]);
    expect(['true', '1', 'yes'].map((v) => isCi({ CI: v }))).toEqual([true, true, true]);
  });

  it('names the package to install when lspci is missing', () => {
    expect(LSPCI_MISSING).toMatch(/pciutils/);
    expect(LSPCI_MISSING).toMatch(/apt-get install pciutils/);
  });
});
