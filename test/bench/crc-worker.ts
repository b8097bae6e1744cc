/** The Worker of `engine.crc32c.js` (see crc.ts): measures the CRCGEN row and posts it. */
import { parentPort } from 'node:worker_threads';
import { crcPath, crcRow } from './crc.js';

if (!crcPath().startsWith('JavaScript')) throw new Error(`the CRC bench worker should run JavaScript, runs ${crcPath()}`);
parentPort?.postMessage(crcRow('engine.crc32c.js'));
