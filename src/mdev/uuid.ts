/** The UUID text rules of the sysfs `create` file (`vfio-uapi.md` §10.2 checks 1–2). */
import { VfioError } from '../vfio/errors.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `text` is a canonical 8-4-4-4-12 hex UUID (any case, no newline). */
export function isUuid(text: string): boolean {
  return UUID_RE.test(text);
}

/**
 * Parses the text written to `create`: 36 characters, or 37 with a trailing newline (EINVAL
 * otherwise), then a valid UUID in any case (EINVAL otherwise). Returns it in lowercase.
 */
export function parseUuidText(text: string): string {
  if (typeof text !== 'string') throw new VfioError('EINVAL', 'mdev create: the UUID text is not a string');
  const ok = text.length === 36 || (text.length === 37 && text.endsWith('\n'));
  if (!ok) throw new VfioError('EINVAL', `mdev create: a UUID is 36 characters (37 with a newline), got ${text.length}`);
  const uuid = text.slice(0, 36);
  if (!isUuid(uuid)) throw new VfioError('EINVAL', `mdev create: ${JSON.stringify(uuid)} is not a UUID`);
  return uuid.toLowerCase();
}

/**
 * Parses the number written to a device's `remove` file as the kernel's `kstrtoul(buf, 0)` does
 * (decimal, 0x hex or 0 octal, optional `+`, optional trailing newline). Returns whether it is
 * non-zero; EINVAL when it is not a number.
 */
export function parseRemoveText(text: string): boolean {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const m = /^\+?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))$/.exec(body);
  if (m === null) throw new VfioError('EINVAL', `mdev remove: ${JSON.stringify(text)} is not a number`);
  const digits = m[1] ?? m[2] ?? m[3] ?? '';
  return /[1-9a-fA-F]/.test(digits);
}
