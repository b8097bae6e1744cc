/**
 * Command-line options of the `vidxd` commands: `--name`, `--name value` and `--name=value`, each
 * command declaring the options it takes. Anything else is a usage error (exit status 2).
 */

/** How an option is parsed. */
export type OptionSpec =
  | { readonly kind: 'flag'; readonly help: string }
  | { readonly kind: 'integer'; readonly help: string; readonly arg: string }
  | { readonly kind: 'string'; readonly help: string; readonly arg: string }
  | { readonly kind: 'choice'; readonly help: string; readonly arg: string; readonly choices: readonly string[] };

/** A usage mistake: the message to print before exiting with status 2. */
export class UsageError extends Error {
  /** A usage error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parsed options: flags as true, values as given (integers as numbers). */
export type ParsedOptions = Readonly<Record<string, string | number | boolean>>;

/** Parses `args` against `spec` (`--help`/`-h` always allowed, as the flag `help`). */
export function parseOptions(args: readonly string[], spec: Readonly<Record<string, OptionSpec>>): ParsedOptions {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const o = spec[name];
    if (o === undefined) throw new UsageError(`unknown option '--${name}'`);
    if (o.kind === 'flag') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else value = args[++i];
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value (${o.arg})`);
    if (o.kind === 'string') {
      out[name] = value;
    } else if (o.kind === 'integer') {
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`--${name} needs a non-negative integer, not '${value}'`);
      out[name] = Number(value);
    } else {
      if (!o.choices.includes(value)) throw new UsageError(`--${name} must be one of ${o.choices.join(', ')}, not '${value}'`);
      out[name] = value;
    }
  }
  return out;
}

/** The option lines of a command's help. */
export function optionHelp(spec: Readonly<Record<string, OptionSpec>>): string {
  const rows = Object.entries(spec).map(([name, o]) => [`--${name}${o.kind === 'flag' ? '' : ` ${o.arg}`}`, o.help] as const);
  rows.push(['--help', 'show this help']);
  const w = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, h]) => `  ${l.padEnd(w)}  ${h}`).join('\n');
}
