// An application thread: it writes and reads the guest's RAM directly, and asks the device thread for the copy.
import { parentPort, workerData } from 'node:worker_threads';

const { ram, src, dst } = workerData;
const bytes = new Uint8Array(ram);
bytes.fill(0x5a, src, src + 4096);
parentPort.postMessage('filled');
parentPort.once('message', (status) => {
  parentPort.postMessage(`status ${status}, dst[4095] = 0x${bytes[dst + 4095].toString(16)}`);
  parentPort.close();
});
