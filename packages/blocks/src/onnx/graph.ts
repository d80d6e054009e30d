import {
  type AttributeProto,
  AttributeType,
  DataType,
  type NodeProto,
  type TensorProto,
} from './proto.js';

/**
 * How a value's elements are laid out in the ONNX graph. TF.js is NHWC; ONNX
 * convolutions are NCHW, so rank-4 values live as NCHW wherever a conv made
 * them and are transposed only where a layer needs TF's element order.
 */
export type Layout = 'NCHW' | 'NHWC' | 'plain';

/** Pending zero padding [top, left, bottom, right] a conv may absorb into its `pads`. */
export type Pads = readonly [number, number, number, number];

/** What a layer converter returns for each output. */
export interface ValueRef {
  /** The ONNX value holding the data (before `pads`, if any). */
  readonly name: string;
  readonly layout: Layout;
  /** ZeroPadding2D not applied yet: a following conv folds it, anything else gets a Pad node. */
  readonly pads?: Pads;
}

/** A value of the graph, with the TF.js (NHWC) shape of the layer output it stands for. */
export interface Value extends ValueRef {
  readonly shape: readonly (number | null)[];
}

export type Attr = Omit<AttributeProto, 'name'>;
export const int = (i: number): Attr => ({ type: AttributeType.INT, i });
export const ints = (v: readonly number[]): Attr => ({ type: AttributeType.INTS, ints: [...v] });
export const float = (f: number): Attr => ({ type: AttributeType.FLOAT, f });
export const str = (s: string): Attr => ({
  type: AttributeType.STRING,
  s: new TextEncoder().encode(s),
});

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function float32Bytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new DataView(new ArrayBuffer(data.byteLength));
  for (const [i, v] of data.entries()) out.setFloat32(4 * i, v, true);
  return new Uint8Array(out.buffer);
}

function int64Bytes(data: readonly number[]): Uint8Array {
  const out = new DataView(new ArrayBuffer(8 * data.length));
  for (const [i, v] of data.entries()) out.setBigInt64(8 * i, BigInt(v), true);
  return new Uint8Array(out.buffer);
}

/** Collects nodes and initializers in topological order and hands out unique names. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly names = new Set<string>();
  private readonly int64Cache = new Map<string, string>();
  private readonly derived = new Map<string, string>();

  /** `base`, or `base_2`, `base_3`, ... if taken. */
  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.names.has(name); k++) name = `${base}_${k}`;
    this.names.add(name);
    return name;
  }

  /** Reserves a name that is not made by a node (a graph input). */
  reserve(name: string): void {
    if (this.names.has(name)) throw new Error(`exportOnnx: value name '${name}' is used twice`);
    this.names.add(name);
  }

  /** Appends a node and returns its output names (`outputs` names them, or counts them). */
  node(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, Attr> = {},
    scope = op,
    outputs: number | readonly string[] = 1,
  ): string[] {
    const out =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, (_, k) =>
            this.fresh(outputs === 1 ? scope : `${scope}_${k}`),
          )
        : [...outputs];
    const attribute = Object.entries(attrs).map(([name, a]) => ({ name, ...a }));
    this.nodes.push({
      op_type: op,
      input: [...inputs],
      output: out,
      name: this.fresh(`${scope}#${op}`),
      ...(attribute.length > 0 ? { attribute } : {}),
    });
    return out;
  }

  /** One-output node. */
  op(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, scope = op): string {
    return this.node(op, inputs, attrs, scope)[0]!;
  }

  /** A float32 initializer; `data` is not copied. */
  floats(base: string, dims: readonly number[], data: Float32Array): string {
    const size = dims.reduce((p, d) => p * d, 1);
    if (size !== data.length) {
      throw new Error(
        `exportOnnx: initializer '${base}' has ${data.length} values, shape [${dims.join(', ')}] needs ${size}`,
      );
    }
    const name = this.fresh(base);
    this.initializers.push({
      name,
      dims: [...dims],
      data_type: DataType.FLOAT,
      raw_data: float32Bytes(data),
    });
    return name;
  }

  /** A 1-D int64 initializer (shapes, pads, axes); equal ones are shared. */
  int64s(base: string, data: readonly number[]): string {
    const key = data.join(',');
    const hit = this.int64Cache.get(key);
    if (hit) return hit;
    const name = this.fresh(base);
    this.initializers.push({
      name,
      dims: [data.length],
      data_type: DataType.INT64,
      raw_data: int64Bytes(data),
    });
    this.int64Cache.set(key, name);
    return name;
  }

  /** Layout changes and paddings are pure functions of an immutable value: make each once. */
  private once(key: string, make: () => string): string {
    let name = this.derived.get(key);
    if (name === undefined) {
      name = make();
      this.derived.set(key, name);
    }
    return name;
  }

  private transpose(name: string, perm: readonly number[], suffix: string): string {
    return this.once(`T ${name} ${perm.join(',')}`, () =>
      this.op('Transpose', [name], { perm: ints(perm) }, `${name}_${suffix}`),
    );
  }

  /** `v` with its pending zero padding applied, in its own layout. */
  padded(v: ValueRef): string {
    if (!v.pads || v.pads.every((p) => p === 0)) return v.name;
    const [t, l, b, r] = v.pads;
    const p = v.layout === 'NCHW' ? [0, 0, t, l, 0, 0, b, r] : [0, t, l, 0, 0, b, r, 0];
    return this.once(`P ${v.name} ${p.join(',')}`, () =>
      this.op('Pad', [v.name, this.int64s('pads', p)], { mode: str('constant') }, `${v.name}_pad`),
    );
  }

  /** The value as NCHW (rank 4 only), transposing once if needed. */
  nchw(v: Value): string {
    if (v.shape.length !== 4) {
      throw new Error(
        `exportOnnx: expected a rank-4 value, '${v.name}' has shape [${v.shape.join(', ')}]`,
      );
    }
    if (v.layout === 'NCHW') return this.padded(v);
    return this.transpose(this.padded(v), NHWC_TO_NCHW, 'nchw');
  }

  /** The value in TF.js element order (NHWC for rank 4). */
  tfOrder(v: Value): string {
    if (v.layout !== 'NCHW') return this.padded(v);
    // With H = W = 1 both layouts have the same element order.
    if (v.shape[1] === 1 && v.shape[2] === 1) return this.padded(v);
    return this.transpose(this.padded(v), NCHW_TO_NHWC, 'nhwc');
  }

  /** The value as TF.js has it: NHWC for rank 4, whatever its ONNX layout. */
  nhwc(v: Value): string {
    if (v.layout === 'NCHW') return this.transpose(this.padded(v), NCHW_TO_NHWC, 'nhwc');
    return this.padded(v);
  }

  /**
   * Gives the value `from` the name `to` where a node makes it (graph outputs get
   * the names the user asked for without an extra Identity node). False when no
   * node makes `from` (a graph input or initializer). `to` must be reserved.
   */
  rename(from: string, to: string): boolean {
    if (!this.nodes.some((n) => n.output.includes(from))) return false;
    for (const n of this.nodes) {
      n.input = n.input.map((i) => (i === from ? to : i));
      n.output = n.output.map((o) => (o === from ? to : o));
    }
    return true;
  }

  /** The value in NCHW without its pending padding, and that padding, for a conv to absorb. */
  convInput(v: Value): { name: string; pads: Pads } {
    if (!v.pads) return { name: this.nchw(v), pads: [0, 0, 0, 0] };
    const name = v.layout === 'NCHW' ? v.name : this.transpose(v.name, NHWC_TO_NCHW, 'nchw');
    return { name, pads: v.pads };
  }
}
