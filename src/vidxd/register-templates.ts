/**
 * One compiled vdev register table per distinct set of facts: every vdev whose facts are equal (the
 * vdevs of one shared WQ, for instance) gets a register file that shares the template's compiled
 * tables and owns only its values, so a parent with a thousand vdevs keeps one copy of the tables.
 * The register tables are a function of the facts alone (vdevRegisterContext, VDEV_BLOCKS), which is
 * what makes equal facts a safe key.
 */
import { RegisterFile } from '../dsa/index.js';
import type { IdxdHost } from '../host/index.js';
import type { VdevFacts } from './facts.js';
import { VDEV_BAR0_SIZE } from './layout.js';
import { VDEV_BLOCKS, type VdevRegisterContext, vdevRegisterContext } from './registers.js';

/** Templates per host (they go away with the parent), keyed by the facts' JSON text. */
const templates = new WeakMap<IdxdHost, Map<string, RegisterFile<VdevRegisterContext>>>();

/** A fresh register file (values at reset, not connected) for a vdev with `facts` on `host`'s device. */
export function vdevRegisterFile(host: IdxdHost, facts: VdevFacts): RegisterFile<VdevRegisterContext> {
  let byFacts = templates.get(host);
  if (byFacts === undefined) {
    byFacts = new Map();
    templates.set(host, byFacts);
  }
  const key = JSON.stringify(facts);
  let template = byFacts.get(key);
  if (template === undefined) {
    // The template itself is never connected nor handed out: a vdev's live file must not be kept
    // alive (with its hooks, hence its vdev) by the cache after the vdev is removed.
    template = new RegisterFile(vdevRegisterContext(facts), VDEV_BLOCKS[facts.mode], VDEV_BAR0_SIZE);
    byFacts.set(key, template);
  }
  return new RegisterFile(template.context, VDEV_BLOCKS[facts.mode], VDEV_BAR0_SIZE, template);
}
