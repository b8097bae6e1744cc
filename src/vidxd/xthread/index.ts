/**
 * Cross-thread devices: the device model in one thread (any: the main thread or a Worker), a guest
 * vCPU in another. Control calls cross by message; the data path is a shared ring per mapped portal
 * page (the dsa layer's `SharedPortal`), on which nothing crosses but shared memory.
 */
export { type XthreadAnswer, type XthreadCall, XthreadDeviceHost, type XthreadHostOptions, type XthreadLink, type XthreadServedDevice } from './host.js';
export { XthreadGuestDevice } from './guest.js';
