/**
 * An invariant the fuzzer found broken. Thrown from wherever the check runs (also from inside a
 * model step the host driver asked for); the fuzz loop catches it, stops and reports it.
 */

/** The invariants, by the name the report prints. */
export type InvariantName =
  | 'exception' // only the typed VfioError of the host API escapes, with an errno the call may answer
  | 'memory' // canary memory and every memory a vdev's descriptors may not write is unchanged
  | 'isolation' // a descriptor runs, translates and writes for its own vdev only
  | 'read-only' // read-only config and register bits keep their values
  | 'completion-record' // every completion record written has a valid status
  | 'interrupt' // interrupts and errors reach only the vdev they belong to
  | 'reset' // after a VFIO reset (or close/open) the vdev equals a fresh one
  | 'occupancy' // WQ occupancy equals the descriptors accepted minus those completed or aborted
  | 'handles' // interrupt handles are released with their vdev's state
  | 'closed-handle'; // a closed handle and the portals it mapped reach nothing

/** A broken invariant. */
export class Violation extends Error {
  /** Builds the violation of `invariant` with a message saying what was seen. */
  constructor(readonly invariant: InvariantName, readonly detail: string) {
    super(`${invariant}: ${detail}`);
    this.name = 'Violation';
  }
}

/**
 * What the fuzzer's own embedder code (a trigger, the page-request service) throws on purpose when an
 * embedder action armed it: the library must contain it where it called out, and report it to the
 * embedder error hook. Anything else the hook receives is an error that escaped a check.
 */
export class FuzzThrow extends Error {
  /** Builds the planned error of `what`. */
  constructor(what: string) {
    super(`fuzz: ${what} throws on purpose`);
    this.name = 'FuzzThrow';
  }
}
