/** `vidxd` help and usage errors: help exits 0; an unknown command, option or value exits 2 with a message. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { run } from './run.js';

describe('vidxd help', () => {
  it('--help lists the commands on stdout and exits 0', async () => {
    const r = await run('--help');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^usage: vidxd <command> \[options\]/);
    for (const c of ['demo', 'lspci', 'regs']) expect(r.out).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.err).toBe('');
  });

  it('--version (and -V) prints the package version on stdout and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await run(flag);
      expect([r.status, r.out, r.err]).toEqual([0, `vidxd ${version}\n`, '']);
    }
  });

  it.each(['demo', 'lspci', 'regs', 'serve'])('%s --help shows its usage and options and exits 0', async (cmd) => {
    const r = await run(cmd, '--help');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(new RegExp(`^usage: vidxd ${cmd} `));
    expect(r.out).toContain('--help');
  });
});

describe('vidxd usage errors exit 2 with a message on stderr', () => {
  it.each([
    [[], /a command is required/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--frob'], /unknown option '--frob'/],
    [['demo', '--bogus'], /vidxd demo: unknown option '--bogus'/],
    [['demo', '--seed'], /--seed needs a value/],
    [['demo', '--seed', 'x'], /--seed needs a non-negative integer, not 'x'/],
    [['demo', '--json=yes'], /--json takes no value/],
    [['demo', 'extra'], /unexpected argument 'extra'/],
    [['lspci', '--type', 'gpu'], /--type must be one of dsa-1dwq-v1, dsa-1swq-v1, pf, not 'gpu'/],
    [['regs', '--type'], /--type needs a value/],
    [['--version', 'extra'], /--version takes no argument/],
    [['serve'], /vidxd serve: /],
    [['serve', '--socket', '/tmp/x.sock', '--vdevs', 'dsa-1swq-v1:1'], /vidxd serve: /],
  ])('vidxd %j', async (args, message) => {
    const r = await run(...args);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(message);
    // Every usage error names the usage line of what was called.
    expect(r.err).toMatch(/^usage: vidxd /m);
    expect(r.out).toBe('');
  });
});
