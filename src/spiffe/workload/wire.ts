// The protobuf wire format, as far as the Workload API's messages use it: what the codec that
// scripts/proto-codec.ts generates (codec.ts) reads and writes with. Reading follows protobufjs's
// Reader step for step (the same bounds, limits and errors), because the codec must read exactly
// what @grpc/proto-loader reads (test/workload/codec.test.ts compares them).

/** protoc's and protobufjs's nesting limit: deeper messages and groups are refused. */
const RECURSION_LIMIT = 100;

function indexOutOfRange(reader: Reader, length = 1): RangeError {
  return new RangeError(`index out of range: ${reader.pos} + ${length} > ${reader.len}`);
}

export class Reader {
  readonly buf: Buffer;
  pos = 0;
  /** The end of the message being read: a nested message or map entry narrows it while it is read. */
  len: number;

  constructor(buf: Buffer) {
    this.buf = buf;
    this.len = buf.length;
  }

  /** Starts reading a message of `length` bytes (undefined: the rest); returns what close() takes. */
  open(length: number | undefined, depth: number): number | undefined {
    if (depth > RECURSION_LIMIT) throw new Error('maximum nesting depth exceeded');
    if (length === undefined) return undefined;
    const end = this.pos + length;
    if (end > this.len) throw new RangeError('index out of range');
    const outer = this.len;
    this.len = end;
    return outer;
  }

  /** Ends a message started by open(): it must have been read to its last byte. */
  close(outer: number | undefined): void {
    if (outer === undefined) return;
    if (this.pos !== this.len) throw new RangeError('index out of range');
    this.len = outer;
  }

  uint32(): number {
    const { buf } = this;
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= this.len) throw indexOutOfRange(this);
      const byte = buf[this.pos++]!;
      value = (value | ((byte & 127) << shift)) >>> 0;
      if (byte < 128) return value;
    }
    if (this.pos >= this.len) throw indexOutOfRange(this);
    const byte = buf[this.pos++]!;
    value = (value | ((byte & 15) << 28)) >>> 0;
    if (byte < 128) return value;
    // A 64-bit varint: the 32 bits are kept, its last five bytes skipped unread.
    if ((this.pos += 5) > this.len) {
      this.pos = this.len;
      throw indexOutOfRange(this, 10);
    }
    return value;
  }

  int32(): number {
    return this.uint32() | 0;
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  double(): number {
    // protobufjs names 4 bytes here, though it reads 8.
    if (this.pos + 8 > this.len) throw indexOutOfRange(this, 4);
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  /** A view of the message's buffer, not a copy. */
  bytes(): Buffer {
    const length = this.uint32();
    const start = this.pos;
    if (start + length > this.len) throw indexOutOfRange(this, length);
    this.pos += length;
    return length === 0 ? Buffer.alloc(0) : this.buf.subarray(start, start + length);
  }

  /** A string running past the message's end is cut at it, as protobufjs's Buffer reader does. */
  string(): string {
    const length = this.uint32();
    const start = this.pos;
    this.pos = Math.min(start + length, this.len);
    return this.buf.toString('utf8', start, this.pos);
  }

  /** Steps over a field this codec does not know. */
  skipType(wireType: number, depth: number): void {
    if (depth > RECURSION_LIMIT) throw new Error('maximum nesting depth exceeded');
    switch (wireType) {
      case 0:
        do if (this.pos >= this.len) throw indexOutOfRange(this);
        while (this.buf[this.pos++]! & 128);
        return;
      case 1:
        return this.skip(8);
      case 2:
        return this.skip(this.uint32());
      case 3:
        for (let inner = this.uint32() & 7; inner !== 4; inner = this.uint32() & 7) this.skipType(inner, depth + 1);
        return;
      case 5:
        return this.skip(4);
      default:
        throw new Error(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }

  skip(length: number): void {
    if (this.pos + length > this.len) throw indexOutOfRange(this, length);
    this.pos += length;
  }

  /** One map<string, V> entry into `map`; a key absent from the entry is "", a value `absent`. */
  entry<V>(map: Record<string, V>, value: (reader: Reader) => V, absent: V, depth: number): void {
    const outer = this.open(this.uint32(), 0);
    let key = '';
    let found = absent;
    while (this.pos < this.len) {
      const tag = this.uint32();
      if (tag >>> 3 === 1) key = this.string();
      else if (tag >>> 3 === 2) found = value(this);
      else this.skipType(tag & 7, depth);
    }
    this.close(outer);
    setEntry(map, key, found);
  }
}

/** Map keys come from the wire: `__proto__` is an entry like any other, never the prototype. */
export function setEntry<V>(map: Record<string, V>, key: string, value: V): void {
  if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, configurable: true, writable: true });
  else map[key] = value;
}

export class Writer {
  readonly #chunks: Uint8Array[] = [];
  #length = 0;

  #push(chunk: Uint8Array): this {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    return this;
  }

  uint32(value: number): this {
    const bytes: number[] = [];
    for (value >>>= 0; value > 127; value >>>= 7) bytes.push((value & 127) | 128);
    bytes.push(value);
    return this.#push(Uint8Array.from(bytes));
  }

  /** Negative values take ten bytes, as a sign-extended 64-bit varint. */
  int32(value: number): this {
    if (value >= 0) return this.uint32(value);
    const bytes: number[] = [];
    for (let rest = BigInt.asUintN(64, BigInt(value)); ; rest >>= 7n) {
      if (rest < 128n) return this.#push(Uint8Array.from([...bytes, Number(rest)]));
      bytes.push(Number(rest & 127n) | 128);
    }
  }

  bool(value: boolean): this {
    return this.uint32(value ? 1 : 0);
  }

  double(value: number): this {
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleLE(value);
    return this.#push(bytes);
  }

  bytes(value: Uint8Array): this {
    return this.uint32(value.length).#push(value);
  }

  string(value: string): this {
    return this.bytes(Buffer.from(value, 'utf8'));
  }

  /** A nested message or map entry, length first. */
  sub(inner: Writer): this {
    this.uint32(inner.#length);
    for (const chunk of inner.#chunks) this.#push(chunk);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.#chunks, this.#length);
  }
}

/** An enum value as proto-loader gives it (`enums: String`): its name, or the number when unknown. */
export function enumName(names: ReadonlyMap<number, string>, value: number): string | number {
  return names.get(value) ?? value;
}

/** What proto-loader writes for an enum field set to `value`: a number as it is, a known name's number. */
export function enumValue(names: ReadonlyMap<number, string>, value: string | number): number | undefined {
  if (typeof value === 'number') return value;
  for (const [number, name] of names) if (name === value) return number;
  return undefined;
}

/** A message-valued map entry that came without its value: proto-loader refuses the message. */
export function noneAbsent(map: Record<string, unknown>, field: string): void {
  for (const value of Object.values(map)) if (value === null) throw new TypeError(`${field}: a map entry without a value`);
}
