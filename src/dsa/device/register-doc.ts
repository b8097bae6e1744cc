/**
 * Renders the register reference (docs/registers.md) from the declarative tables: the BAR0
 * layout, every register with its fields, the commands and the CMDSTS codes. A test compares the
 * committed file with this output, so the reference cannot drift from the tables.
 */
import { CMDSTS_CODES } from '../spec/cmdsts.js';
import { COMMANDS } from './commands.js';
import { bar0Layout } from '../spec/layout.js';
import { type DsaProfile, dsaProfile } from '../spec/profile.js';
import { type FieldDef, type RegisterContext, type RegisterDef, resetValue } from '../spec/register-def.js';
import { BAR0_BLOCKS } from './registers.js';

const hex = (n: number, digits = 1): string => `0x${n.toString(16).toUpperCase().padStart(digits, '0')}`;

function bits(f: FieldDef): string {
  const hi = f.lo + f.width - 1;
  return f.width === 1 ? `${f.lo}` : `${hi}:${f.lo}`;
}

function access(f: FieldDef<RegisterContext>): string {
  const lock = f.lock === 'device-disabled' ? ' (device Disabled)' : f.lock === 'wq-disabled' ? ' (WQ disabled)' : '';
  return `${f.access}${f.status ? ' (status)' : ''}${lock}`;
}

function reset(f: FieldDef<RegisterContext>, c: RegisterContext): string {
  if (f.width <= 32) return hex(resetValue(f, c));
  const words: string[] = [];
  for (let k = (f.width >>> 5) - 1; k >= 0; k--) words.push(resetValue(f, c, k).toString(16).toUpperCase().padStart(8, '0'));
  const joined = words.join('_').replace(/^(0{8}_)+/, '');
  return `0x${joined}`;
}

function registerSection(reg: RegisterDef<Readonly<Record<string, FieldDef<RegisterContext>>>, RegisterContext>, c: RegisterContext, base: number): string[] {
  const where = reg.window === undefined ? '' : ` (kept by the PCI MSI-X capability)`;
  const extra = reg.preservedByReset ? ' Kept by RESET_DEVICE.' : '';
  const out = [`### ${reg.name} — ${hex(base + reg.offset, 3)}, ${reg.size} bytes`, '', `${reg.doc}${where}.${extra}`, ''];
  out.push('| Bits | Field | Access | Reset | Description |', '|---|---|---|---|---|');
  for (const f of reg.fieldList) out.push(`| ${bits(f)} | ${f.name} | ${access(f)} | ${reset(f, c)} | ${f.doc} |`);
  out.push('');
  return out;
}

/** The Markdown register reference for `profile` (default: the default profile). */
export function renderRegisterReference(profile: DsaProfile = dsaProfile()): string {
  const c: RegisterContext = { profile, layout: bar0Layout(profile) };
  const out: string[] = [
    '# DSA device model: BAR0 register reference',
    '',
    '<!-- Generated from src/dsa/device/registers.ts, commands.ts and cmdsts.ts by renderRegisterReference(); do not edit.',
    '     Regenerate with: VIDXD_WRITE_DOCS=1 npx vitest run test/dsa/regs-reference -->',
    '',
    `Default profile: ${profile.engines} engines, ${profile.groups} groups, ${profile.wqs} WQs, ${profile.totalWqSize} WQ entries,` +
      ` BAR0 ${c.layout.bar0Size / 1024} KiB, BAR2 ${c.layout.bar2Size / 1024} KiB.`,
    'Offsets of repeated blocks are those of this profile; a driver finds the tables through OFFSETS and the MSI-X capability.',
    '',
    'Access: RO read-only (writes ignored) · RW read-write · RW1C write 1 to clear · WO the write starts an action.',
    '"(status)": changed by the device at run time. "(device Disabled)" / "(WQ disabled)": writes are ignored otherwise.',
    'Reserved bits read 0 and ignore writes. Accesses of 1, 2, 4 or 8 bytes at naturally aligned offsets are served',
    '(8 bytes as two dwords, low first); other accesses read all ones and write nothing.',
    '',
    '## Layout',
    '',
    '| Block | Offset | Stride | Instances | Description |',
    '|---|---|---|---|---|',
  ];
  for (const b of BAR0_BLOCKS) {
    const n = b.count(c);
    out.push(`| ${b.name} | ${n === 0 ? '—' : hex(b.base(c), 4)} | ${b.stride} | ${n} × ${b.instance} | ${b.doc} |`);
  }
  out.push('');
  for (const b of BAR0_BLOCKS) {
    const n = b.count(c);
    out.push(`## ${b.name}`, '', n === 1 ? `${b.doc}.` : `${b.doc}. ${n} instances; offsets below are those of instance 0.`, '');
    if (n === 0) {
      out.push('Absent in this profile.', '');
      continue;
    }
    for (const r of b.registers) out.push(...registerSection(r, c, b.base(c)));
  }
  out.push('## Commands (CMD.cmd)', '', '| Code | Command | Operand | Effect |', '|---|---|---|---|');
  for (const cmd of COMMANDS) out.push(`| ${cmd.code} | ${cmd.name} | ${cmd.operand} | ${cmd.doc} |`);
  out.push('', '## CMDSTS error codes', '', '| Code | Name | Reported for |', '|---|---|---|');
  for (const s of CMDSTS_CODES) out.push(`| ${hex(s.code, 2)} | ${s.name} | ${s.message} |`);
  out.push('');
  return out.join('\n');
}
