import { describe, expect, it } from 'vitest';
import {
  MIG_FSM_TABLE,
  MigrationArcError,
  MigrationFsm,
  VFIO_MIGRATION_P2P,
  VFIO_MIGRATION_PRE_COPY,
  VFIO_MIGRATION_STOP_COPY,
  isMigStateSupported,
  migPath,
  migStateName,
  nextMigState,
} from '../../src/vfio/index.js';
import { errnoOf } from '../util/errno.js';

const S = { ERROR: 0, STOP: 1, RUNNING: 2, STOP_COPY: 3, RESUMING: 4, RUNNING_P2P: 5, PRE_COPY: 6, PRE_COPY_P2P: 7 } as const;
type Name = keyof typeof S;
const SC = VFIO_MIGRATION_STOP_COPY;
const PRE = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY;

/** A derived table of vfio-uapi.md §8.4: rows = current state, columns = target; '—' = already there, 'EINVAL' = refused. */
type Table = Record<string, Record<string, Name | '—' | 'EINVAL'>>;

const STOP_COPY_ONLY: Table = {
  STOP: { STOP: '—', RUNNING: 'RUNNING', STOP_COPY: 'STOP_COPY', RESUMING: 'RESUMING' },
  RUNNING: { STOP: 'STOP', RUNNING: '—', STOP_COPY: 'STOP', RESUMING: 'STOP' },
  STOP_COPY: { STOP: 'STOP', RUNNING: 'STOP', STOP_COPY: '—', RESUMING: 'STOP' },
  RESUMING: { STOP: 'STOP', RUNNING: 'STOP', STOP_COPY: 'STOP', RESUMING: '—' },
};

const WITH_PRE_COPY: Table = {
  STOP: { STOP: '—', RUNNING: 'RUNNING', STOP_COPY: 'STOP_COPY', RESUMING: 'RESUMING', PRE_COPY: 'RUNNING' },
  RUNNING: { STOP: 'STOP', RUNNING: '—', STOP_COPY: 'STOP', RESUMING: 'STOP', PRE_COPY: 'PRE_COPY' },
  STOP_COPY: { STOP: 'STOP', RUNNING: 'STOP', STOP_COPY: '—', RESUMING: 'STOP', PRE_COPY: 'EINVAL' },
  RESUMING: { STOP: 'STOP', RUNNING: 'STOP', STOP_COPY: 'STOP', RESUMING: '—', PRE_COPY: 'STOP' },
  PRE_COPY: { STOP: 'RUNNING', RUNNING: 'RUNNING', STOP_COPY: 'STOP_COPY', RESUMING: 'RUNNING', PRE_COPY: '—' },
};


function checkTable(flags: number, table: Table): void {
  const names = Object.keys(table) as Name[];
  for (const cur of names) {
    for (const target of names) {
      const want = (table[cur] as Record<string, string>)[target];
      const got = want === 'EINVAL' ? errnoOf(() => nextMigState(S[cur], S[target], flags)) : migStateName(nextMigState(S[cur], S[target], flags));
      expect(got, `${cur} → ${target}`).toBe(want === '—' ? cur : want);
    }
    // Every target the table leaves out is refused, and so are ERROR and values past the enum.
    for (const target of [...(Object.keys(S) as Name[]).filter((n) => !names.includes(n)).map((n) => S[n]), 8, 9, -1]) {
      expect(errnoOf(() => nextMigState(S[cur], target, flags)), `${cur} → ${target}`).toBe('EINVAL');
    }
  }
  // Current state ERROR (or any state the device lacks) is refused for every target.
  for (const target of Object.values(S)) expect(errnoOf(() => nextMigState(S.ERROR, target, flags))).toBe('EINVAL');
}

describe('migration next-state (vfio_mig_get_next_state)', () => {
  it('matches the STOP_COPY table of §8.4 in every cell', () => checkTable(SC, STOP_COPY_ONLY));

  it('matches the STOP_COPY | PRE_COPY table of §8.4 in every cell', () => checkTable(PRE, WITH_PRE_COPY));

  it('follows the full paths §8.4 lists for STOP_COPY', () => {
    const path = (a: Name, b: Name): string[] => migPath(S[a], S[b], SC).map(migStateName);
    expect(path('RUNNING', 'STOP_COPY')).toEqual(['STOP', 'STOP_COPY']);
    expect(path('RUNNING', 'RESUMING')).toEqual(['STOP', 'RESUMING']);
    expect(path('STOP_COPY', 'RUNNING')).toEqual(['STOP', 'RUNNING']);
    expect(path('STOP_COPY', 'RESUMING')).toEqual(['STOP', 'RESUMING']);
    expect(path('RESUMING', 'RUNNING')).toEqual(['STOP', 'RUNNING']);
    expect(path('RESUMING', 'STOP_COPY')).toEqual(['STOP', 'STOP_COPY']);
    expect(path('STOP', 'STOP')).toEqual([]);
  });

  it('follows the multi-step paths §8.4 lists for STOP_COPY | PRE_COPY', () => {
    const path = (a: Name, b: Name): string[] => migPath(S[a], S[b], PRE).map(migStateName);
    expect(path('STOP', 'PRE_COPY')).toEqual(['RUNNING', 'PRE_COPY']);
    expect(path('RUNNING', 'STOP_COPY')).toEqual(['STOP', 'STOP_COPY']);
    expect(path('RESUMING', 'PRE_COPY')).toEqual(['STOP', 'RUNNING', 'PRE_COPY']);
    expect(path('PRE_COPY', 'STOP')).toEqual(['RUNNING', 'STOP']);
    expect(path('PRE_COPY', 'RESUMING')).toEqual(['RUNNING', 'STOP', 'RESUMING']);
    expect(path('PRE_COPY', 'STOP_COPY')).toEqual(['STOP_COPY']);
  });

  it('terminates on the blocked arc STOP_COPY → PRE_COPY instead of looping', () => {
    expect(errnoOf(() => nextMigState(S.STOP_COPY, S.PRE_COPY, PRE))).toBe('EINVAL');
    const all = SC | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
    expect(errnoOf(() => nextMigState(S.STOP_COPY, S.PRE_COPY_P2P, all))).toBe('EINVAL');
    expect(errnoOf(() => nextMigState(S.STOP_COPY, S.PRE_COPY, all))).toBe('EINVAL');
  });

  it('holds the raw table T of §8.3 (Linux vfio_from_fsm_table)', () => {
    const RAW: Record<Name, Name[]> = {
      ERROR: ['ERROR', 'ERROR', 'ERROR', 'ERROR', 'ERROR', 'ERROR', 'ERROR', 'ERROR'],
      STOP: ['ERROR', 'STOP', 'RUNNING_P2P', 'STOP_COPY', 'RESUMING', 'RUNNING_P2P', 'RUNNING_P2P', 'RUNNING_P2P'],
      RUNNING: ['ERROR', 'RUNNING_P2P', 'RUNNING', 'RUNNING_P2P', 'RUNNING_P2P', 'RUNNING_P2P', 'PRE_COPY', 'RUNNING_P2P'],
      STOP_COPY: ['ERROR', 'STOP', 'STOP', 'STOP_COPY', 'STOP', 'STOP', 'ERROR', 'ERROR'],
      RESUMING: ['ERROR', 'STOP', 'STOP', 'STOP', 'RESUMING', 'STOP', 'STOP', 'STOP'],
      RUNNING_P2P: ['ERROR', 'STOP', 'RUNNING', 'STOP', 'STOP', 'RUNNING_P2P', 'RUNNING', 'PRE_COPY_P2P'],
      PRE_COPY: ['ERROR', 'RUNNING', 'RUNNING', 'PRE_COPY_P2P', 'RUNNING', 'RUNNING', 'PRE_COPY', 'PRE_COPY_P2P'],
      PRE_COPY_P2P: ['ERROR', 'RUNNING_P2P', 'RUNNING_P2P', 'STOP_COPY', 'RUNNING_P2P', 'RUNNING_P2P', 'PRE_COPY', 'PRE_COPY_P2P'],
    };
    const table = MIG_FSM_TABLE.map((row) => row.map(migStateName));
    expect(table).toEqual((Object.keys(S) as Name[]).map((n) => RAW[n]));
  });

  it('returns the raw table entry when every state is supported (P2P | PRE_COPY), EINVAL on blocked arcs', () => {
    const all = SC | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
    for (let cur = 1; cur < 8; cur++) {
      for (let target = 1; target < 8; target++) {
        const raw = (MIG_FSM_TABLE[cur] as number[])[target] as number;
        if (raw === S.ERROR) expect(errnoOf(() => nextMigState(cur, target, all))).toBe('EINVAL');
        else expect(nextMigState(cur, target, all), `${cur}→${target}`).toBe(raw);
      }
    }
  });

  it('goes through RUNNING_P2P between RUNNING and STOP when P2P is offered', () => {
    const p2p = SC | VFIO_MIGRATION_P2P;
    expect(migPath(S.RUNNING, S.STOP, p2p).map(migStateName)).toEqual(['RUNNING_P2P', 'STOP']);
    expect(migPath(S.STOP, S.RUNNING, p2p).map(migStateName)).toEqual(['RUNNING_P2P', 'RUNNING']);
    expect(errnoOf(() => nextMigState(S.RUNNING, S.PRE_COPY, p2p))).toBe('EINVAL');
  });

  it('supports exactly the states of each flag set', () => {
    const supported = (flags: number): string[] => Object.values(S).filter((s) => isMigStateSupported(s, flags)).map(migStateName);
    expect(supported(SC)).toEqual(['STOP', 'RUNNING', 'STOP_COPY', 'RESUMING']);
    expect(supported(PRE)).toEqual(['STOP', 'RUNNING', 'STOP_COPY', 'RESUMING', 'PRE_COPY']);
    expect(supported(SC | VFIO_MIGRATION_P2P)).toEqual(['STOP', 'RUNNING', 'STOP_COPY', 'RESUMING', 'RUNNING_P2P']);
    expect(supported(7)).toEqual(['STOP', 'RUNNING', 'STOP_COPY', 'RESUMING', 'RUNNING_P2P', 'PRE_COPY', 'PRE_COPY_P2P']);
  });
});

describe('migration state runner (SET_STATE)', () => {
  function fsm(flags = SC, fail?: { from: number; to: number; toError: boolean; plain?: boolean }): { m: MigrationFsm; arcs: string[] } {
    const arcs: string[] = [];
    const m = new MigrationFsm(flags, (from, to) => {
      const name = `${migStateName(from)}>${migStateName(to)}`;
      if (fail && fail.from === from && fail.to === to) {
        arcs.push(`${name}!`);
        if (fail.plain) throw new Error('device bug');
        throw new MigrationArcError('EIO', 'injected', fail.toError);
      }
      arcs.push(name);
      return from === S.STOP && to === S.STOP_COPY ? { read: () => 0 } : undefined;
    });
    return { m, arcs };
  }

  it('runs the arcs of the path one by one and returns the stream the last arc opened', () => {
    const { m, arcs } = fsm();
    const stream = m.setState(S.STOP_COPY);
    expect(arcs).toEqual(['RUNNING>STOP', 'STOP>STOP_COPY']);
    expect(m.state).toBe(S.STOP_COPY);
    expect(stream).toBeDefined();
  });

  it('runs no arc when the target is the current state', () => {
    const { m, arcs } = fsm();
    expect(m.setState(S.RUNNING)).toBeUndefined();
    expect(arcs).toEqual([]);
  });

  it('refuses an unsupported target without running any arc', () => {
    const { m, arcs } = fsm();
    for (const target of [S.ERROR, S.PRE_COPY, S.RUNNING_P2P, 8]) expect(errnoOf(() => m.setState(target))).toBe('EINVAL');
    expect(arcs).toEqual([]);
    expect(m.state).toBe(S.RUNNING);
  });

  it('stops at the last state reached when an arc in the middle of the path fails', () => {
    const { m, arcs } = fsm(SC, { from: S.STOP, to: S.RESUMING, toError: false });
    expect(errnoOf(() => m.setState(S.RESUMING))).toBe('EIO');
    expect(arcs).toEqual(['RUNNING>STOP', 'STOP>RESUMING!']);
    expect(m.state).toBe(S.STOP);
  });

  it('goes to ERROR when the failing arc says so, and only reset leaves ERROR', () => {
    const { m } = fsm(SC, { from: S.STOP, to: S.STOP_COPY, toError: true });
    expect(errnoOf(() => m.setState(S.STOP_COPY))).toBe('EIO');
    expect(m.state).toBe(S.ERROR);
    for (const target of [S.STOP, S.RUNNING, S.STOP_COPY, S.RESUMING, S.ERROR]) expect(errnoOf(() => m.setState(target))).toBe('EINVAL');
    expect(m.state).toBe(S.ERROR);
    m.reset();
    expect(m.state).toBe(S.RUNNING);
  });

  it('reports an arc that throws something other than a VfioError as EIO and ERROR', () => {
    const { m } = fsm(SC, { from: S.RUNNING, to: S.STOP, toError: false, plain: true });
    expect(errnoOf(() => m.setState(S.STOP))).toBe('EIO');
    expect(m.state).toBe(S.ERROR);
  });

  it('refuses to build with a flag set other than 1, 3, 5, 7', () => {
    expect(() => new MigrationFsm(VFIO_MIGRATION_PRE_COPY, () => undefined)).toThrow(/invalid migration flags/);
    expect(() => new MigrationFsm(0, () => undefined)).toThrow(Error);
  });
});
