/**
 * docs/errors.md agrees with the code's own tables: every status, software-error and CMDSTS code and
 * every errno name appears in it; its completion-record and SWERR columns follow the engine's routing
 * (success-like codes, the codes a record may hold); the guest driver's reason → errno table is what
 * the error class computes; the host driver's errno names are the ones `HostErrno` lists.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CMDSTS_CODES, hasRwBit, isSuccessLike, SoftwareErrorCode, Status, STATUS_NAMES } from '../../src/dsa/index.js';
import { ERRNO } from '../../src/errno.js';
import { type GuestErrorReason, IdxdGuestError } from '../../src/guest/index.js';
import { HostErrno } from '../../src/host/index.js';
import { VdevErrorCode } from '../../src/vidxd/index.js';
import { validCrStatus } from '../fuzz/checks.js';

const DOC = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8');

/** The body rows of the table that follows the heading starting with `heading`, as trimmed cells. */
function table(heading: string): string[][] {
  const start = DOC.indexOf(`\n${heading}`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const lines = DOC.slice(start + 1).split('\n').slice(1);
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const l of lines.slice(first + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(l.slice(1, -1).split(' | ').map((c) => c.trim()));
  }
  return rows;
}

const hex2 = (n: number): string => `0x${n.toString(16).toUpperCase().padStart(2, '0')}`;
const codeOf = (cell: string): number => Number.parseInt(cell.slice(2), 16);

describe('docs/errors.md', () => {
  it('lists every status code with its name, and nothing else', () => {
    const rows = table('## 2.');
    expect(rows.map((r) => `${r[0]} ${r[1]}`)).toEqual(
      Object.values(Status).map((c) => `${hex2(c)} ${STATUS_NAMES[c]}`),
    );
  });

  it('routes each status as the engine does: a record only for the codes a record may hold, SWERR for every code that is not success-like', () => {
    for (const [code, name, , crav1, crav0, notes] of table('## 2.') as [string, string, string, string, string, string][]) {
      const c = codeOf(code);
      if (c === 0) continue;
      const inRecord = validCrStatus(c);
      expect(crav1.startsWith('CR'), `${code} ${name} with CRAV = 1: ${crav1}`).toBe(inRecord);
      expect(crav1.includes('only if RCR = 1'), `${code} ${name}`).toBe(isSuccessLike(c));
      expect(crav1.includes('SWERR'), `${code} ${name}`).toBe(!inRecord || c === Status.INT_HANDLE_INVAL || c === Status.TRANSLATION_FAIL);
      if (inRecord) expect(crav0, `${code} ${name} with CRAV = 0`).toBe(isSuccessLike(c) ? 'nothing' : 'SWERR');
      expect(notes.includes('R/W'), `${code} ${name}`).toBe(hasRwBit(c));
    }
  });

  it('lists every SWERR-only code: the record-less statuses, the software errors and the vdev\'s own', () => {
    const listed = table('## 3.').map((r) => `${r[0]} ${r[1]}`);
    const recordless = Object.values(Status).filter((c) => c !== 0 && !validCrStatus(c)).map((c) => `${hex2(c)} ${STATUS_NAMES[c]}`);
    const software = Object.entries({ ...SoftwareErrorCode, ...VdevErrorCode }).map(([name, c]) => `${hex2(c)} ${name}`);
    expect(listed).toEqual([...recordless, ...software].sort());
  });

  it('lists every CMDSTS code with its Linux name', () => {
    expect(table('## 4.').map((r) => `${r[0]} ${r[1]}`)).toEqual(CMDSTS_CODES.map((d) => `${hex2(d.code)} ${d.name}`));
  });

  it('gives each guest-driver reason the errno the error class computes', () => {
    const rows = table('The reference guest driver');
    expect(rows.length).toBe(11);
    for (const [reason, code] of rows as [string, string][]) {
      const e = new IdxdGuestError(reason.replace(/`/g, '') as GuestErrorReason, 'x');
      expect(`\`${e.code}\``, reason).toBe(code);
    }
  });

  it('names exactly the host driver\'s errno values for HostError', () => {
    const row = table('## 5.').find((r) => r[0]?.startsWith('`HostError`')) as string[];
    expect([...(row[2] as string).matchAll(/`(E[A-Z0-9]+)`/g)].map((m) => m[1]).sort()).toEqual(Object.keys(HostErrno).sort());
  });

  it('explains every name of the errno table with its number', () => {
    expect(table('### The errno table').map((r) => `${r[0]} ${r[1]}`)).toEqual(Object.entries(ERRNO).map(([n, v]) => `${n} ${v}`));
  });
});
