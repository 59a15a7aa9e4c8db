// A minimal protobuf wire-format writer: just what an ONNX ModelProto needs (varints, strings, bytes, messages).

/** One encoded message under construction. Field numbers and wire types follow the protobuf encoding spec. */
export class ProtoWriter {
  readonly #chunks: Uint8Array[] = [];

  #tag(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.#varint(BigInt(field * 8 + wireType));
  }

  #varint(value: bigint): void {
    // Negative int64 values are sent as their 64-bit two's complement, ten bytes long.
    let v = value < 0n ? (1n << 64n) + value : value;
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v > 0n);
    this.#chunks.push(Uint8Array.from(bytes));
  }

  /** int32/int64/enum/bool field (wire type 0). */
  int(field: number, value: number | bigint): this {
    this.#tag(field, 0);
    this.#varint(BigInt(value));
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, 2);
    this.#varint(BigInt(value.length));
    this.#chunks.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const total = this.#chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of this.#chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}
