/**
 * Every action kind the fuzzer picks from, with its weight: a hostile guest's accesses and
 * descriptors, a careless VMM's calls, lifecycle and DMA-mapping changes, model progress, teardown
 * under way (parent reset/reload with vdevs open, teardown from callbacks mid-batch), and a careless
 * embedder's throwing callbacks, misused mappings and vanishing memory.
 */
import { ACCESS_ACTIONS } from './access.js';
import type { ActionDef } from './common.js';
import { EMBEDDER_ACTIONS } from './embedder.js';
import { DRIVER_ACTIONS } from './driver.js';
import { FLOW_ACTIONS } from './flow.js';
import { LIFECYCLE_ACTIONS } from './lifecycle.js';
import { MODEL_ACTIONS } from './model.js';
import { SUBMIT_ACTIONS } from './submit.js';
import { TEARDOWN_ACTIONS } from './teardown.js';
import { VFIO_ACTIONS } from './vfio-calls.js';

/** One kind of action (re-exported for the fuzzer). */
export type { ActionDef } from './common.js';
/** Creates a vdev in a slot (the fuzzer's initial population). */
export { createInSlot } from './lifecycle.js';

/** The action table. */
export const ACTIONS: readonly ActionDef[] = [
  ...ACCESS_ACTIONS, ...DRIVER_ACTIONS, ...SUBMIT_ACTIONS, ...VFIO_ACTIONS, ...LIFECYCLE_ACTIONS, ...MODEL_ACTIONS, ...TEARDOWN_ACTIONS, ...EMBEDDER_ACTIONS, ...FLOW_ACTIONS,
];
