/** `vidxd` help and usage errors: help exits 0; an unknown command, option or value exits 2 with a message. */
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

  it.each(['demo', 'lspci', 'regs'])('%s --help shows its usage and options and exits 0', async (cmd) => {
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
  ])('vidxd %j', async (args, message) => {
    const r = await run(...args);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });
});
