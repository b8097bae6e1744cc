/**
 * docs/workers.md's example runs as written: its device-thread and guest-vCPU blocks, with `vidxd/*`
 * resolved to the compiled build, run as a program and its Worker, and print what the page says.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../../vfio-user/build.js';

const DOC = readFileSync(join(ROOT, 'docs', 'workers.md'), 'utf8');
const block = (start: string): string => {
  const b = new RegExp('```js\\n(' + start + '[\\s\\S]*?)```').exec(DOC)?.[1];
  if (b === undefined) throw new Error(`docs/workers.md has no js block starting with ${start}`);
  return b;
};
/** The package's entry points (`exports` of package.json), mapped from dist/ to the test build's build/src/. */
const EXPORTS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> }).exports;
const entryFile = (entry: string): string => {
  const target = EXPORTS[`./${entry}`]?.default;
  if (target === undefined) throw new Error(`package.json exports no ./${entry}`);
  return join(ROOT, 'build', 'src', target.replace(/^\.\/dist\//, ''));
};
const local = (code: string): string =>
  code.replace(/from 'vidxd\/([\w-]+)'/g, (_m, entry: string) => `from '${pathToFileURL(entryFile(entry)).href}'`);

beforeAll(() => {
  ensureBuilt();
});

describe('the docs/workers.md example', () => {
  it('imports only the package entry points, and runs: the driver and a hand-made descriptor complete through the cross-thread portal', () => {
    const device = block('// Device thread:');
    const guest = block('// Guest vCPU thread:');
    for (const code of [device, guest]) expect(code.match(/from '([^']+)'/g)?.every((f) => /from '(vidxd\/[\w-]+|node:worker_threads)'/.test(f))).toBe(true);
    const dir = join(ROOT, 'build', 'docs-workers');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'device.mjs'), local(device));
    writeFileSync(join(dir, 'guest.mjs'), local(guest));
    const out = execFileSync(process.execPath, [join(dir, 'device.mjs')], { encoding: 'utf8', timeout: 60_000 });
    const printed = /It prints:\n\n```\n([\s\S]*?)```/.exec(DOC)?.[1];
    expect(out).toBe(printed);
    expect(out).toContain('by hand: submit 0, record status 1, back[0] = 0x5a');
  });
});
