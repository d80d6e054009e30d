/**
 * Output a user should never see from a healthy install: banners, native
 * library chatter, runtime warnings and uncaught errors.
 */
const NOISE = [
  /Hi, looks like you are running TensorFlow\.js/,
  /XDG_RUNTIME_DIR/,
  /Warning: maxDynamic/,
  /\.(?:cpp|cc|h):\d+/,
  /\bDawn\b/,
  /\bVulkan\b/,
  /\bEPIPE\b/,
  /ExperimentalWarning/,
  /DeprecationWarning/,
  /^\s+at .+\(.+:\d+:\d+\)$/,
];

/** The lines of `texts` that match a noise pattern, each once, in order. */
export function noiseLines(...texts) {
  const lines = texts.flatMap((text) => text.split('\n'));
  return [...new Set(lines.filter((line) => NOISE.some((re) => re.test(line))))];
}

/** A failure for the noise in a command's output, or none. */
export function noiseFailure(what, ...texts) {
  const found = noiseLines(...texts);
  if (found.length === 0) return [];
  const more = found.length > 1 ? ` (+${found.length - 1} more)` : '';
  return [{ line: `${what}: noise in output: ${found[0].trim()}${more}`, detail: found }];
}
