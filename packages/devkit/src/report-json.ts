/**
 * A bench report as JSON text: two-space indent and a final newline. Write it
 * with `writeFileAtomicSync` of `@repnets/fuse/node` (the one atomic writer;
 * devkit cannot depend on @repnets/fuse, whose tests depend on devkit). Its
 * `summarize` and `machineInfo` are in `@repnets/fuse/measure`, for the same
 * reason.
 */
export function reportJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
