/** REQUEST_INT_HANDLE and RELEASE_INT_HANDLE (GENCAP.cmd_cap = 1): allocation, errors and use by descriptors. */
import { describe, expect, it } from 'vitest';
import { CmdStatus, Command, IMS_ENTRY, INT_HANDLE_IMS, Status } from '../../src/dsa/index.js';
import { noop, rig } from './device-fixtures.js';

const handles = (profile = {}) => rig({ commandCapabilities: true, ...profile }).pciUp().group(0, [0], [0]).dwq(0, 8).up([0]);
const result = (cmdsts: number) => (cmdsts >>> 8) & 0xffff;

describe('REQUEST_INT_HANDLE', () => {
  it('returns a handle for an MSI-X vector that descriptors then use to reach that vector', () => {
    const r = handles();
    const st = r.cmd(Command.REQUEST_INT_HANDLE, 5);
    expect(st & 0xff).toBe(0);
    r.dev.portal(0).movdir64b(noop(0x8000, { handle: result(st) }));
    r.dev.runUntilIdle();
    expect([r.status(0x8000), r.vectors]).toEqual([Status.SUCCESS, [5]]);
  });

  it('returns a handle for an IMS entry that IMS-portal descriptors use', () => {
    const r = handles();
    r.write(IMS_ENTRY, 300, { mask: 0 });
    const st = r.cmd(Command.REQUEST_INT_HANDLE, 300 | INT_HANDLE_IMS);
    expect(st & 0xff).toBe(0);
    r.dev.portal(0, { ims: true }).movdir64b(noop(0x8000, { handle: result(st) }));
    r.dev.runUntilIdle();
    expect([r.status(0x8000), r.ims]).toEqual([Status.SUCCESS, [300]]);
  });

  it('answers 0x41 for vector 0, a vector beyond the table and an IMS entry beyond the table', () => {
    const r = handles();
    expect(r.cmd(Command.REQUEST_INT_HANDLE, 0)).toBe(CmdStatus.INVALID_INT_INDEX);
    expect(r.cmd(Command.REQUEST_INT_HANDLE, 9)).toBe(CmdStatus.INVALID_INT_INDEX);
    expect(r.cmd(Command.REQUEST_INT_HANDLE, 2048 | INT_HANDLE_IMS)).toBe(CmdStatus.INVALID_INT_INDEX);
  });

  it('answers 0x42 when every handle is taken, and for IMS on a device without an IMS table', () => {
    const r = handles();
    for (let i = 0; i < 9; i++) expect(r.cmd(Command.REQUEST_INT_HANDLE, 1) & 0xff).toBe(0);
    expect(r.cmd(Command.REQUEST_INT_HANDLE, 1)).toBe(CmdStatus.NO_HANDLE);
    expect(handles({ imsMultiplier: 0 }).cmd(Command.REQUEST_INT_HANDLE, 0 | INT_HANDLE_IMS)).toBe(CmdStatus.NO_HANDLE);
  });
});

describe('RELEASE_INT_HANDLE', () => {
  it('frees the handle: descriptors using it then fail with 0x19 and no interrupt', () => {
    const r = handles();
    const h = result(r.cmd(Command.REQUEST_INT_HANDLE, 3));
    expect(r.cmd(Command.RELEASE_INT_HANDLE, h)).toBe(0);
    r.dev.portal(0).movdir64b(noop(0x8000, { handle: h }));
    r.dev.runUntilIdle();
    expect([r.status(0x8000), r.vectors]).toEqual([Status.INT_HANDLE_INVAL, []]);
  });

  it('answers 0x43 for a handle that is not allocated (once, never twice)', () => {
    const r = handles();
    const h = result(r.cmd(Command.REQUEST_INT_HANDLE, 3 | INT_HANDLE_IMS));
    expect(r.cmd(Command.RELEASE_INT_HANDLE, h)).toBe(CmdStatus.INVALID_HANDLE);
    expect(r.cmd(Command.RELEASE_INT_HANDLE, h | INT_HANDLE_IMS)).toBe(0);
    expect(r.cmd(Command.RELEASE_INT_HANDLE, h | INT_HANDLE_IMS)).toBe(CmdStatus.INVALID_HANDLE);
    expect(r.cmd(Command.RELEASE_INT_HANDLE, 0xffff)).toBe(CmdStatus.INVALID_HANDLE);
  });

  it('RESET_DEVICE frees every handle', () => {
    const r = handles();
    const h = result(r.cmd(Command.REQUEST_INT_HANDLE, 3));
    r.cmd(Command.RESET_DEVICE);
    expect(r.cmd(Command.RELEASE_INT_HANDLE, h)).toBe(CmdStatus.INVALID_HANDLE);
  });
});
