/**
 * `@repnets/fuse/arch`: the per-family tables and builders the named records
 * expand, for @repnets/blocks' zoo, which wires layers along them. A user
 * reads networks through `architecture(name, options)` on the main entry.
 */
export { MOBILEONE_ARCHS } from './mobileone.js';
export { REPVGG_ARCHS, REPVGG_COMPACT, simplenetRecord } from './repvgg.js';
export { SHUFFLENET_ARCHS, shufflenetRecord, shufflenetUnits } from './shufflenet.js';
