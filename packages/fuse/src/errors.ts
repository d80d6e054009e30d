/**
 * Every invalid input to @repnets/fuse raises a FuseError. The message names the
 * operation, the offending argument and the shapes involved, so a user can find
 * the layer that was wrong without a debugger; the same facts are kept as
 * fields for programs that want to react to them.
 */
export class FuseError extends Error {
  override readonly name = 'FuseError';
  /** The public operation that refused the input, e.g. `foldRepVGGBlock`. */
  readonly op: string;
  /** The argument path that was wrong, e.g. `conv1x1.bn.variance`. */
  readonly argument: string;
  /** Shapes that explain the refusal, keyed by argument path. */
  readonly shapes: Readonly<Record<string, readonly number[]>>;

  constructor(
    op: string,
    argument: string,
    problem: string,
    shapes: Readonly<Record<string, readonly number[]>> = {},
  ) {
    const shapeText = Object.entries(shapes)
      .map(([k, s]) => `${k} [${s.join(', ')}]`)
      .join(', ');
    super(`${op}: argument '${argument}' ${problem}${shapeText ? ` (${shapeText})` : ''}`);
    this.op = op;
    this.argument = argument;
    this.shapes = shapes;
  }
}
