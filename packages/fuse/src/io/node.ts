/**
 * `@repnets/fuse/node`: the parts of @repnets/fuse that need Node's file
 * system. Everything else is in the platform-free main entry.
 */
export {
  type AtomicWriteData,
  AtomicWriteError,
  parseTempName,
  removeStaleTempFiles,
  type StaleTempOptions,
  staleTempFiles,
  type TempFileName,
  tempPathFor,
  type WriteFileAtomicOptions,
  writeFileAtomic,
  writeFileAtomicSync,
} from './atomic-write.js';
export { type AtomicFile, writeFilesAtomic } from './atomic-write-all.js';
export {
  checkRegularFile,
  fileKind,
  NotARegularFileError,
  type OpenedRegularFile,
  openRegularFile,
  readRegularFile,
  readRegularFileSync,
} from './regular-file.js';
export { loadSafetensorsFile, saveSafetensorsFile } from './safetensors-file.js';
export { readTorchFile } from './torch-file.js';
