/** docs/registers.md is generated from the register, command and CMDSTS tables and must not go stale. */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BAR0_BLOCKS, COMMANDS, CMDSTS_CODES, renderRegisterReference } from '../../src/dsa/index.js';

const DOC = fileURLToPath(new URL('../../docs/registers.md', import.meta.url));

describe('docs/registers.md', () => {
  it('is exactly what the tables render (regenerate with VIDXD_WRITE_DOCS=1)', () => {
    const text = renderRegisterReference();
    if (process.env.VIDXD_WRITE_DOCS === '1') writeFileSync(DOC, text);
    expect(readFileSync(DOC, 'utf8')).toBe(text);
  });

  it('names every register, command and CMDSTS code of the tables', () => {
    const text = renderRegisterReference();
    const missing = [
      ...BAR0_BLOCKS.flatMap((b) => b.registers.map((r) => `### ${r.name} `)),
      ...COMMANDS.map((c) => `| ${c.code} | ${c.name} |`),
      ...CMDSTS_CODES.map((c) => `| ${c.name} |`),
    ].filter((needle) => !text.includes(needle));
    expect(missing).toEqual([]);
  });
});
