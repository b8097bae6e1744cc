/**
 * The package as a user receives it: `npm pack` from this checkout (its `prepack` builds a fresh
 * `dist/`), the tarball installed into an empty consumer project, the README's VMM example type-checked
 * there under the strictest consumer settings and run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCi } from '../util/system-tools.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const ENTRIES = ['pci', 'memory', 'dsa', 'host', 'vfio', 'mdev', 'vidxd', 'guest', 'vfio-user'];

interface PackageJson {
  readonly main: string;
  readonly types: string;
  readonly license: string;
  readonly repository?: { readonly type: string; readonly url: string };
  readonly exports: Record<string, { readonly types: string; readonly default: string }>;
  readonly typesVersions: Record<string, Record<string, string[]>>;
  readonly scripts: Record<string, string>;
}

let work = '';
let consumer = '';
let installed = '';
let files: string[] = [];

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });
}

/** Every file under `dir`, relative to it. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]);
}

/** The README's VMM example (the ```ts block that starts with the DsaDevice import), as a user copies it. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```ts\n(import \{ DsaDevice[\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error('README.md has no VMM example block');
  return block;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'vidxd-pack-'));
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], ROOT)) as { filename: string; files: { path: string }[] }[];
  const tarball = join(work, (packed[0] as { filename: string }).filename);
  files = (packed[0] as { files: { path: string }[] }).files.map((f) => f.path);
  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund'], consumer);
  installed = join(consumer, 'node_modules', 'vidxd');
}, 180_000);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships dist/ (built by prepack), docs/, LICENSE, README and nothing of test/ or the TypeScript sources', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
    expect(pkg.scripts['prepack']).toMatch(/npm run build/);
    for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'docs/architecture.md', 'docs/registers.md']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('build/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
    // The optional native addon (fd passing, CRC-32C) ships as source (built at install), never as a build artefact.
    for (const f of ['src/vfio-user/native/vidxd_fd.c', 'src/vfio-user/native/vidxd_crc.c', 'src/vfio-user/native/binding.gyp', 'src/vfio-user/native/install.mjs']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.includes('/build/') || f.endsWith('.node') || f.endsWith('.o'))).toEqual([]);
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(pkg.repository?.type).toBe('git');
  });

  it('has types for every entry point, reachable through exports and through typesVersions (node10 resolution)', () => {
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as PackageJson;
    expect(existsSync(join(installed, pkg.main))).toBe(true);
    expect(existsSync(join(installed, pkg.types))).toBe(true);
    const map = pkg.typesVersions['*'] as Record<string, string[]>;
    for (const e of ENTRIES) {
      const exp = pkg.exports[`./${e}`];
      expect(exp, e).toBeDefined();
      expect(existsSync(join(installed, (exp as { types: string }).types)), `${e} types`).toBe(true);
      expect(existsSync(join(installed, (exp as { default: string }).default)), `${e} js`).toBe(true);
      // TypeScript 7 no longer implements node10 resolution, so its rule is applied here: the subpath
      // `vidxd/<e>` maps through typesVersions to a declaration file that exists and is the exports' one.
      const target = map[e]?.[0];
      expect(target, `typesVersions for ${e}`).toBeDefined();
      expect(join(installed, target as string)).toBe(join(installed, (exp as { types: string }).types));
    }
  });

  it('has source maps whose sources are all inlined (sourcesContent), so they resolve without src/', () => {
    const maps = walk(join(installed, 'dist')).filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(50);
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(installed, 'dist', m), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(map.sourcesContent?.length, m).toBe(map.sources.length);
      expect(map.sourcesContent?.every((s) => typeof s === 'string' && s.length > 0), m).toBe(true);
    }
  });
});

describe('a consumer project', () => {
  it("type-checks the README's VMM example against the .d.ts under exactOptionalPropertyTypes with skipLibCheck off", () => {
    writeFileSync(join(consumer, 'example.ts'), readmeExample());
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true,
        exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, skipLibCheck: false,
        types: [], outDir: 'out',
      },
      files: ['example.ts'],
    }));
    let diagnostics = '';
    try {
      run(TSC, ['-p', '.'], consumer);
    } catch (e) {
      diagnostics = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(diagnostics).toBe('');
  });

  it('runs the example from the installed package: the vdev copies 4 KiB', () => {
    expect(run('node', ['out/example.js'], consumer).trim()).toBe('1 171');
  });

  it('builds the addon at install where this checkout built it, and its DSA engine then computes CRC-32C natively', () => {
    const script = "import('vidxd/dsa').then((m) => console.log(m.CRC32C_IMPLEMENTATION.path, m.crc32c(new Uint8Array(4096)).toString(16)))";
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['VIDXD_CRC'];
    delete env['VIDXD_NO_ADDON'];
    const [path, crc] = execFileSync('node', ['-e', script], { cwd: consumer, encoding: 'utf8', env }).trim().split(' ');
    // Where the checkout has the addon the consumer's install must have built it too (same machine, same tools);
    // CI builds it, so there it must be native either way.
    const expected = existsSync(join(ROOT, 'src', 'vfio-user', 'native', 'build', 'Release', 'vidxd_crc.node')) || isCi() ? 'native' : 'js';
    expect([path, crc]).toEqual([expected, '98f94189']);
  });
});

describe('npm run demo -- --json', () => {
  // In this file rather than its own: both this and the packing above rebuild dist/, and tests of one
  // file run one after the other.
  it('writes exactly the JSON report on stdout (npm\'s script banners go to stderr, see .npmrc)', () => {
    const out = run('npm', ['run', 'demo', '--', '--json'], ROOT);
    const report = JSON.parse(out) as { ok: boolean; failed: number };
    expect([report.ok, report.failed]).toEqual([true, 0]);
  }, 180_000);
});
