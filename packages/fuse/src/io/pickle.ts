/**
 * A restricted reader of Python pickles: the opcodes `torch.save` emits, and
 * only the globals `torch.load(weights_only=True)` lets through. Nothing named
 * in a pickle is ever run: an allowed global is replaced by a plain data
 * builder here, and any other global is refused by name the moment the pickle
 * names it, before any later opcode is read.
 */

import { FuseError } from '../errors.js';
import { clip, describe } from './safetensors.js';

/** A typed storage class (`torch.FloatStorage` ...), standing for its element type. */
export class StorageType {
  constructor(
    readonly pythonName: string,
    readonly dtype: TorchDType,
  ) {}
}

/** The element types a storage holds, named as safetensors names them. */
export type TorchDType =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U8'
  | 'BOOL';

/** A storage the pickle refers to by persistent id, with its bytes (the archive's `data/<key>`). */
export class StorageRef {
  constructor(
    readonly dtype: TorchDType,
    readonly key: string,
    readonly numel: number,
    readonly bytes: Uint8Array,
  ) {}
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** A Python tuple (kept apart from lists only where a builder needs to tell). */
class Tuple extends Array<unknown> {}

/** `torch.Tensor` or `torch.nn.Parameter`, named (never called) by `_rebuild_from_type_v2`. */
class TensorClass {}

/** A value an allowed global builds from its arguments. */
type Builder = (args: readonly unknown[], fail: (problem: string) => never) => unknown;

/** An allowed global, as the pickle holds it until REDUCE or NEWOBJ calls it. */
class Global {
  constructor(
    readonly name: string,
    readonly build: Builder,
  ) {}
}

/** A persistent id's value, resolved by the archive reader. */
export type PersistentLoad = (pid: unknown, fail: (problem: string) => never) => unknown;

const int = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const ints = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => int(d) && d >= 0);

const rebuildTensor: Builder = (args, fail) => {
  const [storage, offset, shape, stride] = args;
  if (!(storage instanceof StorageRef)) return fail('calls _rebuild_tensor_v2 without a storage');
  if (!int(offset) || offset < 0) {
    return fail(`calls _rebuild_tensor_v2 with storage offset ${describe(offset)}`);
  }
  if (!ints(shape) || !ints(stride) || shape.length !== stride.length) {
    return fail(
      `calls _rebuild_tensor_v2 with size ${describe(shape)} and stride ${describe(stride)}, expected non-negative integers of one length`,
    );
  }
  return new TensorRef(storage, offset, [...shape], [...stride]);
};

const rebuildParameter: Builder = (args, fail) => {
  const [data] = args;
  if (!(data instanceof TensorRef)) return fail('calls _rebuild_parameter without a tensor');
  return data;
};

const STORAGES: Readonly<Record<string, TorchDType>> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

const DTYPE_GLOBALS: Readonly<Record<string, TorchDType>> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

const notCallable =
  (name: string): Builder =>
  (_args, fail) =>
    fail(`calls ${name}, which is not called when PyTorch writes a checkpoint`);

/** The globals a checkpoint may name, and what each stands for here. */
function allowedGlobal(module: string, name: string): unknown {
  const qualified = `${module}.${name}`;
  switch (qualified) {
    case 'collections.OrderedDict':
      return new Global(qualified, () => new Map());
    case 'torch._utils._rebuild_tensor_v2':
      return new Global(qualified, rebuildTensor);
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return new Global(qualified, rebuildParameter);
    case 'torch._tensor._rebuild_from_type_v2':
      // A tensor pickled with Python attributes: (rebuild, class, args, state).
      return new Global(qualified, (args, fail) => {
        const [inner, type, innerArgs] = args;
        if (
          !(inner instanceof Global) ||
          !(type instanceof TensorClass) ||
          !Array.isArray(innerArgs)
        ) {
          return fail('calls _rebuild_from_type_v2 with something other than a tensor rebuild');
        }
        return inner.build(innerArgs, fail);
      });
    case 'torch.Tensor':
    case 'torch.nn.parameter.Parameter':
      return new TensorClass();
    case 'torch.Size':
      return new Global(qualified, (args, fail) => {
        const [dims = []] = args;
        if (!ints(dims)) return fail('builds a torch.Size from something other than integers');
        return [...dims];
      });
    case 'torch.UntypedStorage':
    case 'torch.storage.UntypedStorage':
      return new StorageType(qualified, 'U8');
  }
  if (module === 'torch') {
    const storage = STORAGES[name];
    if (storage !== undefined) return new StorageType(qualified, storage);
    const dtype = DTYPE_GLOBALS[name];
    if (dtype !== undefined) return new Global(qualified, notCallable(qualified));
  }
  return undefined;
}

/** Where the bytes came from, for messages: the operation and the archive entry. */
export interface PickleSource {
  readonly op: string;
  readonly entry: string;
}

/**
 * Reads one pickle from `bytes` and returns the object it builds. Tensors come
 * back as {@link TensorRef}, dicts (and OrderedDicts) as Maps, lists and tuples
 * as arrays; `persistentLoad` resolves each persistent id (torch's storages).
 */
export function unpickle(
  bytes: Uint8Array,
  source: PickleSource,
  persistentLoad: PersistentLoad,
): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let at = 0;

  const fail = (problem: string): never => {
    throw new FuseError(source.op, source.entry, `${problem} (at byte ${at})`);
  };
  const need = (n: number) => {
    if (pos + n > bytes.length) {
      fail(`ends at byte ${bytes.length} in the middle of an opcode: the pickle is truncated`);
    }
  };
  const u8 = () => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = () => {
    need(2);
    pos += 2;
    return view.getUint16(pos - 2, true);
  };
  const u32 = () => {
    need(4);
    pos += 4;
    return view.getUint32(pos - 4, true);
  };
  const u64 = () => {
    const lo = u32();
    const hi = u32();
    const n = hi * 2 ** 32 + lo;
    if (!Number.isSafeInteger(n)) fail(`has a length of ${n}`);
    return n;
  };
  const take = (n: number) => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const text = (n: number) => {
    try {
      return utf8.decode(take(n));
    } catch {
      return fail('holds a string that is not UTF-8');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('ends in the middle of a GLOBAL name: the pickle is truncated');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0) fail('pops an empty stack: the pickle is corrupt');
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) fail('reads an empty stack: the pickle is corrupt');
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const items = stack;
    const below = marks.pop();
    if (below === undefined) fail('closes a MARK that was never set: the pickle is corrupt');
    stack = below!;
    return items;
  };
  const resolve = (module: string, name: string) => {
    const found = allowedGlobal(module, name);
    if (found === undefined) {
      fail(
        `refuses global '${clip(`${module}.${name}`)}': only tensor rebuilds, storages, OrderedDict and plain containers are read, as torch.load(weights_only=True) reads them; nothing in the file was run`,
      );
    }
    return found;
  };
  const call = (callee: unknown, args: unknown, opcode: string) => {
    if (!(callee instanceof Global)) {
      fail(`calls something that is not an allowed global with ${opcode}`);
    }
    if (!Array.isArray(args)) fail(`calls ${(callee as Global).name} without an argument tuple`);
    return (callee as Global).build(args as unknown[], fail);
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) fail('sets items on something that is not a dict');
    if (items.length % 2 !== 0) fail('sets items from an odd number of keys and values');
    for (let j = 0; j < items.length; j += 2)
      (dict as Map<unknown, unknown>).set(items[j], items[j + 1]);
  };
  const append = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list) || list instanceof Tuple)
      fail('appends to something that is not a list');
    for (const item of items) (list as unknown[]).push(item);
  };
  const tuple = (items: unknown[]) => Tuple.from(items) as Tuple;
  const put = (index: number) => memo.set(index, top());
  const get = (index: number) => {
    if (!memo.has(index)) fail(`reads memo entry ${index}, which was never stored`);
    stack.push(memo.get(index));
  };

  for (;;) {
    at = pos;
    if (pos >= bytes.length) fail('ends without a STOP opcode: the pickle is truncated');
    const opcode = bytes[pos++]!;
    switch (opcode) {
      case 0x80: {
        const protocol = u8();
        if (protocol > 5) fail(`is pickle protocol ${protocol}; at most 5 is known`);
        break;
      }
      case 0x95: // FRAME: a length hint only
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4);
        pos += 4;
        stack.push(view.getInt32(pos - 4, true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: {
        // LONG1: a little-endian two's complement integer of n bytes.
        const n = u8();
        const b = take(n);
        let v = 0n;
        for (let j = n - 1; j >= 0; j--) v = (v << 8n) | BigInt(b[j]!);
        if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        const small = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
        stack.push(small ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT: big-endian float64
        need(8);
        pos += 8;
        stack.push(view.getFloat64(pos - 8, false));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x54: // BINSTRING (Python 2 str)
        stack.push(latin1.decode(take(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new Tuple());
        break;
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(tuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(tuple([pop(), b, c]));
        break;
      }
      case 0x74: {
        // TUPLE (popMark swaps the stack, so it runs before the push)
        const items = popMark();
        stack.push(tuple(items));
        break;
      }
      case 0x6c: {
        // LIST
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x64: {
        // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x71: // BINPUT
        put(u8());
        break;
      case 0x72: // LONG_BINPUT
        put(u32());
        break;
      case 0x94: // MEMOIZE
        put(memo.size);
        break;
      case 0x68: // BINGET
        get(u8());
        break;
      case 0x6a: // LONG_BINGET
        get(u32());
        break;
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const module = line();
        stack.push(resolve(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          fail('names a global with something other than two strings');
        }
        stack.push(resolve(module as string, name as string));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop(), fail));
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(call(pop(), args, 'REDUCE'));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        stack.push(call(pop(), args, 'NEWOBJ'));
        break;
      }
      case 0x62: {
        // BUILD: the state of an object built above. A state dict's OrderedDict
        // carries its `_metadata` (module versions) this way; a tensor or a
        // Parameter carries nothing a reader of values needs.
        pop();
        const target = top();
        if (!(target instanceof Map || target instanceof TensorRef)) {
          fail('sets the state of something other than a dict or a tensor with BUILD');
        }
        break;
      }
      default:
        fail(
          `has opcode 0x${opcode.toString(16).padStart(2, '0')}, which a checkpoint written by torch.save does not use: the file is corrupt or not a PyTorch checkpoint`,
        );
    }
  }
}

/** Whether a value read by {@link unpickle} is a Python tuple. */
export function isTuple(v: unknown): v is readonly unknown[] {
  return v instanceof Tuple;
}
