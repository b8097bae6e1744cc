/**
 * `vidxd/vfio-user`: the vfio-user protocol over the library's VFIO device API — a server that serves
 * any `VfioDevice` to a VMM (QEMU's `vfio-user-pci`, any vfio-user client) over an AF_UNIX socket, and
 * a client that gives a JavaScript VMM the same device API on a remote device (`vfio-uapi.md` §11).
 * File descriptors travel through an optional native addon; without it both run without fds.
 */
export * from './protocol.js';
export * from './messages.js';
export { MessageReader, type ReaderSink } from './reader.js';
export { type Channel, type ChannelEvents, DEFAULT_SEND_QUEUE_LIMIT, FdChannel, NetChannel } from './channel.js';
export { loadNative, NATIVE_EAGAIN, type NativeFd, type NativeWatch, nativeUnavailableReason } from './native.js';
export { RemotePort, type PortLink } from './remote-port.js';
export { Session, type ServerEvent, type ServerEventKind, type SessionHost } from './session.js';
export { type TransportChoice, VfioUserServer, type VfioUserServerOptions } from './server.js';
export { type ClientDmaMap, VfioUserClient, type VfioUserClientOptions } from './client.js';
export { VfioUserSyncDevice, type VfioUserSyncOptions } from './sync-client.js';
