/** Decoding a dump with the real `lspci -F` (pciutils), shared by the CLI tests. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `lspci -F <file> -vvv -nn` of `text` written to a temporary file. */
export function decode(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vidxd-lspci-'));
  try {
    const file = join(dir, 'd.txt');
    writeFileSync(file, text);
    return execFileSync('lspci', ['-F', file, '-vvv', '-nn'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What lspci prints inline when a dump is malformed (lspci-dump.md, "Reading the verdict"). */
export const VERDICTS = ['<chain looped>', '<chain broken>', '<access denied>', 'Capability ID'];
