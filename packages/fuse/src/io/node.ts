/**
 * `@repnets/fuse/node`: the parts of @repnets/fuse that need Node's file
 * system. Everything else is in the platform-free main entry.
 */
export { loadSafetensorsFile, saveSafetensorsFile } from './safetensors-file.js';
