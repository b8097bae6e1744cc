import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

function run(...args: string[]): { status: number; out: string; err: string } {
  let out = '';
  let err = '';
  const status = main(args, { out: (t) => { out += t; }, err: (t) => { err += t; } });
  return { status, out, err };
}

describe('the vidxd command', () => {
  it('prints usage for --help and exits 0', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^usage: vidxd <command>/);
    expect(r.out).toContain('demo');
  });

  it('rejects an unknown command with exit status 2', () => {
    const r = run('frobnicate');
    expect(r.status).toBe(2);
    expect(r.err).toContain("unknown command 'frobnicate'");
    expect(r.out).toBe('');
  });

  it('demo prints only the dump on stdout, the decoding note on stderr, and lspci decodes it', () => {
    const r = run('demo');
    expect(r.status).toBe(0);
    expect(r.out.split('\n')[0]).toBe('00:01.0 System peripheral: vidxd sample function');
    expect(r.out.split('\n').filter((l) => /^[0-9a-f]{2,3}: /.test(l))).toHaveLength(256);
    expect(r.err).toContain('lspci -F d.txt -vvv -nn');
    const dir = mkdtempSync(join(tmpdir(), 'vidxd-demo-'));
    try {
      const file = join(dir, 'd.txt');
      writeFileSync(file, r.out);
      const decoded = execFileSync('lspci', ['-F', file, '-vvv', '-nn'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      for (const cap of ['MSI-X: Enable- Count=2', 'Express (v2) Root Complex Integrated Endpoint', 'Power Management version 3',
        '(ATS)', '(PRI)', 'Max PASID Width: 14']) expect(decoded).toContain(cap);
      for (const v of ['<chain looped>', '<chain broken>', '<access denied>', 'Capability ID 0x']) expect(decoded).not.toContain(v);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
